import { describe, expect, it } from 'vitest'
import { AnvilStartError, startAnvil } from './startAnvil.ts'

describe('startAnvil', () => {
  it('starts on a free 127.0.0.1 port, answers JSON-RPC, and stops its own process', async () => {
    const anvil = await startAnvil({ chainId: 4242 })
    try {
      expect(anvil.rpcUrl).toBe(`http://127.0.0.1:${anvil.port}`)
      const res = await fetch(anvil.rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      })
      expect(((await res.json()) as { result: string }).result).toBe('0x1092')
    } finally {
      await anvil.stop()
    }
    expect(anvil.process.exitCode !== null || anvil.process.signalCode !== null).toBe(true)
  })

  it('reports an anvil that exits instead of listening, with the port it tried', async () => {
    const error = await startAnvil({ args: ['--no-such-flag'] }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AnvilStartError)
    expect((error as Error).message).toMatch(/anvil on 127\.0\.0\.1:\d+: exited with code \d+; expected 'Listening on 127\.0\.0\.1:\d+'/)
  })
})
