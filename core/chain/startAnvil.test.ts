import { copyFileSync, existsSync, mkdirSync, mkdtempSync, realpathSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { AnvilStartError, findAnvilBinary, startAnvil } from './startAnvil.ts'

const rpc = async (rpcUrl: string, method: string, params: unknown[] = []) => {
  const res = await fetch(rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) })
  return ((await res.json()) as { result: unknown }).result
}
const who = '0x1000000000000000000000000000000000000001'

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

  it('keeps its chain in a state file: written on stop (SIGTERM), and every stateIntervalSec for a SIGKILL', async () => {
    const statePath = join(mkdtempSync(join(tmpdir(), 'gm-anvil-')), 'state.json')
    const first = await startAnvil({ statePath, stateIntervalSec: 1 })
    expect(existsSync(statePath)).toBe(false) // a missing file is a new chain
    await rpc(first.rpcUrl, 'anvil_setBalance', [who, '0x1234'])
    await rpc(first.rpcUrl, 'anvil_mine', ['0x5'])
    await first.stop()
    expect(existsSync(statePath)).toBe(true) // stop() returns after anvil wrote it

    const second = await startAnvil({ statePath, stateIntervalSec: 1 })
    expect(await rpc(second.rpcUrl, 'eth_blockNumber')).toBe('0x5')
    expect(await rpc(second.rpcUrl, 'eth_getBalance', [who, 'latest'])).toBe('0x1234')
    await rpc(second.rpcUrl, 'anvil_setBalance', [who, '0x5678'])
    await new Promise((r) => setTimeout(r, 2_500))
    // the process is anvil itself, not npm's wrapper: SIGKILL ends the chain, no dump on exit
    second.process.kill('SIGKILL')
    await second.stop()
    await expect(rpc(second.rpcUrl, 'eth_chainId')).rejects.toThrow()

    const third = await startAnvil({ statePath })
    try {
      expect(await rpc(third.rpcUrl, 'eth_getBalance', [who, 'latest'])).toBe('0x5678')
    } finally {
      await third.stop()
    }
  })

  it('writes its state also when stopped right after it started (anvil catches SIGTERM only after printing Listening)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gm-anvil-'))
    for (let i = 0; i < 8; i++) {
      const anvil = await startAnvil({ statePath: join(dir, `${i}.json`), stateIntervalSec: 2 })
      await anvil.stop()
      expect({ i, code: anvil.process.exitCode, written: existsSync(join(dir, `${i}.json`)) }).toEqual({ i, code: 0, written: true })
    }
  })

  it('runs the anvil a packaged app carries in <resourcesPath>/anvil/, and node_modules\' own in development', async () => {
    const development = findAnvilBinary({ resourcesPath: undefined })
    // the platform package's binary, not npm's wrapper (which would not forward a SIGKILL)
    expect(development).toMatch(/node_modules[/\\]@foundry-rs[/\\]anvil-[a-z0-9]+-[a-z0-9]+[/\\]bin[/\\]anvil(\.exe)?$/)
    // a resources folder without anvil in it (an unpacked dev Electron): still node_modules'
    const empty = mkdtempSync(join(tmpdir(), 'gm-resources-'))
    expect(findAnvilBinary({ resourcesPath: empty })).toBe(development)
    // what electron-builder's extraResources makes: <resources>/anvil/anvil
    const resources = mkdtempSync(join(tmpdir(), 'gm-resources-'))
    mkdirSync(join(resources, 'anvil'))
    copyFileSync(realpathSync(development), join(resources, 'anvil', 'anvil'))
    expect(findAnvilBinary({ resourcesPath: resources })).toBe(join(resources, 'anvil', 'anvil'))
    expect(findAnvilBinary({ resourcesPath: resources, platform: 'win32', arch: 'x64' })).not.toBe(join(resources, 'anvil', 'anvil')) // Windows looks for anvil.exe
    // and startAnvil runs that one when Electron sets process.resourcesPath (the packaged app's core process)
    const electronProcess = process as { resourcesPath?: string }
    electronProcess.resourcesPath = resources
    try {
      const anvil = await startAnvil()
      try {
        expect(anvil.process.spawnfile).toBe(join(resources, 'anvil', 'anvil'))
        expect(await rpc(anvil.rpcUrl, 'eth_chainId')).toBe('0x7a69')
      } finally {
        await anvil.stop()
      }
    } finally {
      delete electronProcess.resourcesPath
    }
  })
})
