// The market's chain across restarts, on real anvil: the embedded chain keeps its state in
// the data folder and the market deployed on first start is reused; an RPC URL from the
// site file is used as it is; every record or chain that does not fit is reported by name
// and nothing stored is changed.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { createServer as createHttpServer } from 'node:http'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { createTestClient, createWalletClient, defineChain, http, publicActions } from 'viem'
import { privateKeyToAccount, generatePrivateKey } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { energyMarketAbi, settlementTokenAbi } from '../../contracts/abi.ts'
import { compileContracts } from '../../contracts/compile.ts'
import { encryptKeystore, KeystoreError, saveKeystore } from '../../core/chain/keystore.ts'
import { ChainIdMismatchError, ChainUnreachableError, EmbeddedChainError, openChain } from '../../core/chain/openChain.ts'
import { MarketRecordError, openMarket, OperatorKeyError, OperatorUnfundedError } from '../../core/chain/openMarket.ts'
import { startAnvil, type Anvil } from '../../core/chain/startAnvil.ts'
import { loadSiteFile } from '../../core/devices/site/loadSiteFile.ts'

const passphrase = 'market chain test'
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** The site file's market section as loadSiteFile returns it. */
function marketOf(yaml: string) {
  const dir = mkdtempSync(join(tmpdir(), 'gm-mc-site-'))
  const file = join(dir, 'site.yaml')
  writeFileSync(file, `name: s\ndevices:\n  - name: meter1\n    connection: { type: tcp, host: 127.0.0.1 }\n${yaml}`)
  return loadSiteFile(file).market!
}

const dataDir = () => mkdtempSync(join(tmpdir(), 'gm-mc-data-'))

/** anvil processes whose parent is this test process (Linux /proc). */
function childAnvils(): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue // exited while listing
    }
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    if (ppid === process.pid && comm === 'anvil') pids.push(Number(entry))
  }
  return pids
}

/** Running, not a zombie waiting for its (new) parent to reap it. */
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

describe('market chain: embedded anvil', () => {
  it('deploys on first start; a second start resumes the chain and reuses the market with its sites and deposits', async () => {
    const data = dataDir()
    const settings = marketOf('market: {}\n')
    const chain1 = await openChain({ chain: settings.chain, dataDir: data })
    let deployBlock: bigint
    let market: `0x${string}`
    const owner = privateKeyToAccount(generatePrivateKey()).address
    try {
      expect(chain1).toMatchObject({ chainId: 31337, embedded: true, statePath: join(data, 'chain', 'anvil-state.json') })
      const m1 = await openMarket({ chain: chain1, settings, dataDir: data, passphrase })
      expect(m1.deployed).toBe(true)
      expect(m1.config).toMatchObject({ intervalSec: 900n, settleWindowSec: 86_400n, disputeWindowSec: 3_600n, penaltyBps: 2_000n, bond: 1_000_000n, unit: 1n })
      expect(m1.warpTo).toBeTypeOf('function')
      expect(existsSync(join(data, 'keys', 'operator.json'))).toBe(true)
      const record = JSON.parse(readFileSync(join(data, 'chain', 'market.json'), 'utf8')) as Record<string, unknown>
      expect(record).toMatchObject({ chainId: 31337, chain: 'embedded', market: m1.market, token: m1.token, operator: m1.operator.address })
      deployBlock = m1.deployBlock
      market = m1.market
      // a registration and a deposit the second start must still see
      await m1.wallet.writeContract({ address: m1.market, abi: energyMarketAbi, functionName: 'registerSite', args: [owner, owner, 5_000, 5_000] })
      await m1.wallet.writeContract({ address: m1.token, abi: settlementTokenAbi, functionName: 'mint', args: [m1.operator.address, 7_000_000n] })
      await m1.wallet.writeContract({ address: m1.token, abi: settlementTokenAbi, functionName: 'approve', args: [m1.market, 7_000_000n] })
      const hash = await m1.wallet.writeContract({ address: m1.market, abi: energyMarketAbi, functionName: 'deposit', args: [0, 7_000_000n] })
      expect((await m1.client.waitForTransactionReceipt({ hash })).status).toBe('success')
    } finally {
      await chain1.stop()
    }
    expect(existsSync(join(data, 'chain', 'anvil.pid'))).toBe(false)
    const recordBytes = readFileSync(join(data, 'chain', 'market.json'))

    const chain2 = await openChain({ chain: settings.chain, dataDir: data })
    try {
      expect(chain2.notes.join('\n')).toMatch(/resumed from .*anvil-state\.json/)
      const m2 = await openMarket({ chain: chain2, settings, dataDir: data, passphrase })
      expect(m2.deployed).toBe(false)
      expect(m2.market).toBe(market)
      expect(m2.deployBlock).toBe(deployBlock)
      expect(m2.notes.join('\n')).toMatch(/reused/)
      expect(readFileSync(join(data, 'chain', 'market.json'))).toEqual(recordBytes)
      expect(await m2.client.readContract({ address: m2.market, abi: energyMarketAbi, functionName: 'siteCount' })).toBe(1)
      expect(await m2.client.readContract({ address: m2.market, abi: energyMarketAbi, functionName: 'balanceOf', args: [0] })).toBe(7_000_000n - m2.config.bond) // the bond is reserved apart (bondOf)
      expect(await m2.client.getBlockNumber()).toBeGreaterThan(deployBlock)
    } finally {
      await chain2.stop()
    }
  })

  it('refuses a data folder whose chain another process runs, and stops the anvil a SIGKILLed run left behind', async () => {
    const data = dataDir()
    // a GridMesh process of its own that opens the embedded chain, mines 3 blocks and waits
    const script =
      `import { openChain } from ${JSON.stringify(join(repoRoot, 'core', 'chain', 'openChain.ts'))}\n` +
      `const c = await openChain({ chain: 'embedded', dataDir: ${JSON.stringify(data)}, stateIntervalSec: 60 })\n` +
      `await fetch(c.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'anvil_mine', params: ['0x3'] }) })\n` +
      `console.log(JSON.stringify({ rpcUrl: c.rpcUrl }))\n` +
      `setInterval(() => {}, 1000)\n`
    const owner = spawn(process.execPath, ['--import', 'tsx/esm', '--input-type=module', '-e', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] })
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: owner.stdout! }).once('line', resolve)
      owner.once('exit', (code) => reject(new Error(`owner exited with ${code}`)))
    })
    const { rpcUrl } = JSON.parse(line) as { rpcUrl: string }
    const anvilPid = (JSON.parse(readFileSync(join(data, 'chain', 'anvil.pid'), 'utf8')) as { pid: number }).pid
    const statePath = join(data, 'chain', 'anvil-state.json')
    try {
      const inUse = await openChain({ chain: 'embedded', dataDir: data }).catch((e: unknown) => e)
      expect(inUse).toBeInstanceOf(EmbeddedChainError)
      expect((inUse as Error).message).toContain(`${statePath}: the embedded chain is in use by process ${owner.pid} (anvil pid ${anvilPid} on ${rpcUrl})`)
      expect(alive(anvilPid)).toBe(true)

      owner.kill('SIGKILL')
      await new Promise((r) => owner.once('exit', r))
      expect(alive(anvilPid)).toBe(true) // nobody stops it now, and its next dump is a minute away
      const second = await openChain({ chain: 'embedded', dataDir: data })
      try {
        expect(alive(anvilPid)).toBe(false)
        expect(second.notes.join('\n')).toContain(`stopped anvil pid ${anvilPid} (${rpcUrl}) left running on ${statePath} by a run that was killed`)
        const res = await fetch(second.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] }) })
        expect(((await res.json()) as { result: string }).result).toBe('0x3')
      } finally {
        await second.stop()
      }
    } finally {
      owner.kill('SIGKILL')
      if (alive(anvilPid)) process.kill(anvilPid, 'SIGKILL')
    }
  })

  it('resumes chain time after the last block when the saved chain was warped ahead of the wall clock', async () => {
    const data = dataDir()
    const call = async (rpcUrl: string, method: string, params: unknown[] = []) =>
      ((await (await fetch(rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) })).json()) as { result: unknown }).result
    const latestSec = async (rpcUrl: string) => Number.parseInt(((await call(rpcUrl, 'eth_getBlockByNumber', ['latest', false])) as { timestamp: string }).timestamp, 16)
    const ahead = Math.floor(Date.now() / 1000) + 10 * 86_400
    const first = await openChain({ chain: 'embedded', dataDir: data })
    try {
      await call(first.rpcUrl, 'evm_setNextBlockTimestamp', [ahead])
      await call(first.rpcUrl, 'anvil_mine', ['0x1'])
    } finally {
      await first.stop()
    }
    const second = await openChain({ chain: 'embedded', dataDir: data })
    try {
      expect(await latestSec(second.rpcUrl)).toBe(ahead)
      await call(second.rpcUrl, 'anvil_mine', ['0x1'])
      expect(await latestSec(second.rpcUrl)).toBeGreaterThan(ahead) // anvil alone would go back 10 days here
    } finally {
      await second.stop()
    }
  })

  it('reports a lost chain state (no code at the recorded market) and leaves market.json as it is', async () => {
    const data = dataDir()
    const settings = marketOf('market:\n  chain: embedded\n')
    const chain1 = await openChain({ chain: settings.chain, dataDir: data })
    try {
      await openMarket({ chain: chain1, settings, dataDir: data, passphrase })
    } finally {
      await chain1.stop()
    }
    const statePath = join(data, 'chain', 'anvil-state.json')
    const recordPath = join(data, 'chain', 'market.json')
    renameSync(statePath, `${statePath}.lost`)
    const recordBytes = readFileSync(recordPath)
    const chain2 = await openChain({ chain: settings.chain, dataDir: data })
    try {
      const error = await openMarket({ chain: chain2, settings, dataDir: data, passphrase }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(MarketRecordError)
      expect((error as Error).message).toMatch(/market\.json: market 0x[0-9a-fA-F]{40} \(deployed at block \d+\) has no code on chain 31337 at http:\/\/127\.0\.0\.1:\d+; expected the recorded contract \(was .*anvil-state\.json lost or replaced\?\)/)
      expect((error as Error).message).toContain('move it away')
      expect(readFileSync(recordPath)).toEqual(recordBytes)
    } finally {
      await chain2.stop()
    }
  })

  it('reports a state file anvil cannot load and leaves it as it is', async () => {
    const data = dataDir()
    const chain1 = await openChain({ chain: 'embedded', dataDir: data })
    await chain1.stop()
    const statePath = join(data, 'chain', 'anvil-state.json')
    const torn = readFileSync(statePath).subarray(0, 500)
    writeFileSync(statePath, torn)
    const error = await openChain({ chain: 'embedded', dataDir: data }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(EmbeddedChainError)
    expect((error as Error).message).toContain(`${statePath}: not a complete anvil state; expected the JSON anvil writes`)
    expect((error as Error).message).toContain(`There is no earlier copy (${join(data, 'chain', 'anvil-state.prev.json')})`)
    expect(readFileSync(statePath)).toEqual(torn)
    expect(childAnvils()).toEqual([])

    // JSON, but not a state anvil can load
    writeFileSync(statePath, '{"block": 7}')
    const unloadable = await openChain({ chain: 'embedded', dataDir: data }).catch((e: unknown) => e)
    expect(unloadable).toBeInstanceOf(EmbeddedChainError)
    expect((unloadable as Error).message).toContain(`${statePath}: anvil cannot load the embedded chain's state`)
    expect(readFileSync(statePath, 'utf8')).toBe('{"block": 7}')
    expect(existsSync(join(data, 'chain', 'anvil-state.prev.json'))).toBe(false) // only a state anvil loaded is kept
    expect(childAnvils()).toEqual([])
  })

  it('keeps the state of the previous start, and points to it when the state file is torn', async () => {
    const data = dataDir()
    const statePath = join(data, 'chain', 'anvil-state.json')
    const prevPath = join(data, 'chain', 'anvil-state.prev.json')
    const first = await openChain({ chain: 'embedded', dataDir: data })
    await first.stop()
    expect(existsSync(prevPath)).toBe(false)
    const loaded = readFileSync(statePath)
    const second = await openChain({ chain: 'embedded', dataDir: data })
    expect(readFileSync(prevPath)).toEqual(loaded)
    await second.stop()
    const prev = readFileSync(prevPath)
    writeFileSync(statePath, '') // anvil truncates before it writes
    const error = await openChain({ chain: 'embedded', dataDir: data }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(EmbeddedChainError)
    expect((error as Error).message).toContain(`${prevPath} holds the chain as it was at the start before`)
    expect(readFileSync(prevPath)).toEqual(prev)
    expect(readFileSync(statePath, 'utf8')).toBe('')
  })

  it('needs the keystore passphrase, and names the variable and the key file', async () => {
    const data = dataDir()
    const settings = marketOf('market:\n  operatorKeyFile: secrets/op.json\n')
    const chain = await openChain({ chain: settings.chain, dataDir: data })
    const saved = process.env.GRIDMESH_KEYSTORE_PASSPHRASE
    delete process.env.GRIDMESH_KEYSTORE_PASSPHRASE
    try {
      const error = await openMarket({ chain, settings, dataDir: data }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(OperatorKeyError)
      expect((error as Error).message).toContain(`GRIDMESH_KEYSTORE_PASSPHRASE is not set; expected the passphrase of the operator key ${join(data, 'secrets', 'op.json')}`)
      expect(existsSync(join(data, 'chain', 'market.json'))).toBe(false)
      // sealed on the first start, and the wrong passphrase afterwards opens nothing
      await openMarket({ chain, settings, dataDir: data, passphrase })
      const recordBytes = readFileSync(join(data, 'chain', 'market.json'))
      const wrong = await openMarket({ chain, settings, dataDir: data, passphrase: 'other' }).catch((e: unknown) => e)
      expect(wrong).toBeInstanceOf(KeystoreError)
      expect((wrong as Error).message).toContain(`${join(data, 'secrets', 'op.json')} (0x`)
      expect(readFileSync(join(data, 'chain', 'market.json'))).toEqual(recordBytes)
    } finally {
      if (saved !== undefined) process.env.GRIDMESH_KEYSTORE_PASSPHRASE = saved
      await chain.stop()
    }
  })
})

describe('market chain: an RPC URL in the site file', () => {
  let external: Anvil
  /** A real chain (not 31337) needs the settlement token named (market-token.test); bond 0 spares the operator's bond in that token. */
  let realToken: string
  beforeAll(async () => {
    external = await startAnvil({ chainId: 4242 })
    const chain = defineChain({ id: 4242, name: 'external', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [external.rpcUrl] } } })
    const issuer = privateKeyToAccount(generatePrivateKey())
    await createTestClient({ chain, transport: http(external.rpcUrl), mode: 'anvil' }).setBalance({ address: issuer.address, value: 10n ** 18n })
    const wallet = createWalletClient({ chain, transport: http(external.rpcUrl), account: issuer, pollingInterval: 50 }).extend(publicActions)
    const hash = await wallet.deployContract({ abi: settlementTokenAbi, bytecode: compileContracts().artifacts.SettlementToken.bytecode, args: ['External Euro', 'xEUR'] })
    realToken = `  settlementToken: "${(await wallet.waitForTransactionReceipt({ hash })).contractAddress!}"\n  bond: 0\n`
  })
  afterAll(async () => {
    await external.stop()
  })

  it('uses the endpoint as it is (no anvil of its own) and deploys the market there', async () => {
    const data = dataDir()
    const settings = marketOf(`market:\n  chain: { rpcUrl: "${external.rpcUrl}", chainId: 4242 }\n  intervalSec: 300\n${realToken}`)
    const before = childAnvils()
    expect(before).toEqual([external.process.pid])
    const chain = await openChain({ chain: settings.chain, dataDir: data })
    try {
      expect(chain).toMatchObject({ rpcUrl: external.rpcUrl, chainId: 4242, embedded: false, statePath: undefined })
      expect(childAnvils()).toEqual(before)
      const m = await openMarket({ chain, settings, dataDir: data, passphrase })
      expect(m.deployed).toBe(true)
      expect(m.config.intervalSec).toBe(300n)
      expect(m.notes.join('\n')).toMatch(/funded with 1000 ETH by anvil_setBalance/)
      const code = await m.client.getCode({ address: m.market })
      expect(code && code.length).toBeGreaterThan(2)
      expect(JSON.parse(readFileSync(join(data, 'chain', 'market.json'), 'utf8'))).toMatchObject({ chainId: 4242, chain: { rpcUrl: external.rpcUrl }, market: m.market })
      expect(existsSync(join(data, 'chain', 'anvil-state.json'))).toBe(false)
      expect(childAnvils()).toEqual(before)
      const again = await openMarket({ chain, settings, dataDir: data, passphrase })
      expect(again).toMatchObject({ deployed: false, market: m.market, deployBlock: m.deployBlock })
    } finally {
      await chain.stop()
    }
    expect(alive(external.process.pid!)).toBe(true)
  })

  it('reports a chain id other than the site file names, with both ids and the URL', async () => {
    const settings = marketOf(`market:\n  chain: { rpcUrl: "${external.rpcUrl}", chainId: 100 }\n`)
    const error = await openChain({ chain: settings.chain, dataDir: dataDir() }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ChainIdMismatchError)
    expect((error as Error).message).toBe(`${external.rpcUrl}: eth_chainId is 4242; expected 100 (market.chain.chainId in the site file)`)
  })

  it('reports an endpoint that refuses or never answers, within the timeout, with the URL and no credentials', async () => {
    const refusing = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number }
        s.close(() => resolve(port))
      })
    })
    const error = await openChain({ chain: { rpcUrl: `http://user:secret@127.0.0.1:${refusing}` }, dataDir: dataDir() }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ChainUnreachableError)
    expect((error as Error).message).toMatch(new RegExp(`^http://\\*\\*\\*:\\*\\*\\*@127\\.0\\.0\\.1:${refusing}: cannot connect; expected an EVM JSON-RPC endpoint`))
    expect((error as Error).message).not.toContain('secret')

    const sockets: import('node:net').Socket[] = []
    const silent: Server = createServer((socket) => void sockets.push(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const { port } = silent.address() as { port: number }
    const started = Date.now()
    try {
      const slow = await openChain({ chain: { rpcUrl: `http://127.0.0.1:${port}` }, dataDir: dataDir(), timeoutMs: 300 }).catch((e: unknown) => e)
      expect(slow).toBeInstanceOf(ChainUnreachableError)
      expect((slow as Error).message).toContain(`http://127.0.0.1:${port}: no answer within 300 ms`)
      expect(Date.now() - started).toBeLessThan(5_000)
    } finally {
      for (const s of sockets) s.destroy()
      silent.close()
    }
  })

  it('reports a corrupt market.json and leaves it byte-identical', async () => {
    const data = dataDir()
    const settings = marketOf(`market:\n  chain: { rpcUrl: "${external.rpcUrl}" }\n${realToken}`)
    const chain = await openChain({ chain: settings.chain, dataDir: data })
    await openMarket({ chain, settings, dataDir: data, passphrase })
    const recordPath = join(data, 'chain', 'market.json')
    const good = readFileSync(recordPath, 'utf8')
    for (const [bytes, expected] of [
      [good.slice(0, good.length / 2), /market\.json: cannot read the market record as JSON; expected the file GridMesh wrote when it deployed the market/],
      [good.replace(/"market": "0x[0-9a-fA-F]+"/, '"market": "0x12"'), /market\.json: market: an address 0x \+ 40 hex digits; expected the file GridMesh wrote/],
      [good.replace(/"chainId": 4242/, '"chainId": 4243'), /market\.json: market 0x[0-9a-fA-F]{40} is on chain 4243 \(http:\/\/127\.0\.0\.1:\d+\); the site file now names chain 4242 at/],
    ] as const) {
      writeFileSync(recordPath, bytes)
      const error = await openMarket({ chain, settings, dataDir: data, passphrase }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(MarketRecordError)
      expect((error as Error).message).toMatch(expected)
      expect((error as Error).message).toContain(`${recordPath} is left as it is`)
      expect(readFileSync(recordPath, 'utf8')).toBe(bytes)
    }
  })

  it('reports a market whose immutables or operator key are not the recorded ones, and creates no key then', async () => {
    const data = dataDir()
    const settings = marketOf(`market:\n  chain: { rpcUrl: "${external.rpcUrl}" }\n${realToken}`)
    const chain = await openChain({ chain: settings.chain, dataDir: data })
    const m = await openMarket({ chain, settings, dataDir: data, passphrase })
    const recordPath = join(data, 'chain', 'market.json')
    const keyPath = join(data, 'keys', 'operator.json')
    const good = readFileSync(recordPath, 'utf8')

    const shifted = good.replace(/"genesis": "(\d+)"/, (_all, g: string) => `"genesis": "${BigInt(g) + 1n}"`)
    writeFileSync(recordPath, shifted)
    const genesis = await openMarket({ chain, settings, dataDir: data, passphrase }).catch((e: unknown) => e)
    expect(genesis).toBeInstanceOf(MarketRecordError)
    expect((genesis as Error).message).toMatch(new RegExp(`market\\.json: market ${m.market} on chain 4242 at .* has genesis ${m.config.genesis}; the record says ${m.config.genesis + 1n}`))
    expect(readFileSync(recordPath, 'utf8')).toBe(shifted)
    writeFileSync(recordPath, good)

    renameSync(keyPath, `${keyPath}.away`)
    const missing = await openMarket({ chain, settings, dataDir: data, passphrase }).catch((e: unknown) => e)
    expect(missing).toBeInstanceOf(OperatorKeyError)
    expect((missing as Error).message).toContain(`${keyPath}: no operator key; ${recordPath} names operator ${m.operator.address}`)
    expect(existsSync(keyPath)).toBe(false)

    saveKeystore(keyPath, await encryptKeystore(generatePrivateKey(), passphrase, { N: 2 ** 12, r: 8, p: 1 }))
    const other = await openMarket({ chain, settings, dataDir: data, passphrase }).catch((e: unknown) => e)
    expect(other).toBeInstanceOf(OperatorKeyError)
    expect((other as Error).message).toMatch(new RegExp(`${keyPath}: key of 0x[0-9a-fA-F]{40}; .*market\\.json names operator ${m.operator.address}`))
    expect(readFileSync(recordPath, 'utf8')).toBe(good)
  })

  it('reports a record whose contracts are not on this chain (a new anvil on the same chain id)', async () => {
    const data = dataDir()
    const settings = marketOf(`market:\n  chain: { rpcUrl: "${external.rpcUrl}" }\n${realToken}`)
    await openMarket({ chain: await openChain({ chain: settings.chain, dataDir: data }), settings, dataDir: data, passphrase })
    const recordPath = join(data, 'chain', 'market.json')
    const recordBytes = readFileSync(recordPath)
    const fresh = await startAnvil({ chainId: 4242 })
    try {
      const other = marketOf(`market:\n  chain: { rpcUrl: "${fresh.rpcUrl}" }\n`)
      const error = await openMarket({ chain: await openChain({ chain: other.chain, dataDir: data }), settings: other, dataDir: data, passphrase }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(MarketRecordError)
      expect((error as Error).message).toContain(`has no code on chain 4242 at ${fresh.rpcUrl}; expected the recorded contract`)
      expect(readFileSync(recordPath)).toEqual(recordBytes)
    } finally {
      await fresh.stop()
    }
  })

  it('on a chain that is not anvil, asks to fund the operator instead of funding it, and deploys nothing', async () => {
    // the real anvil behind a proxy that answers like a production node: no anvil_* methods
    const proxy = createHttpServer((req, res) => {
      let text = ''
      req.on('data', (c: Buffer) => (text += c.toString()))
      req.on('end', () => {
        const call = JSON.parse(text) as { id: number; method: string }
        const reply = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
        if (call.method === 'web3_clientVersion') return reply({ jsonrpc: '2.0', id: call.id, result: 'Geth/v1.14.0' })
        if (/^(anvil|evm|hardhat)_/.test(call.method)) return reply({ jsonrpc: '2.0', id: call.id, error: { code: -32601, message: 'method not found' } })
        void fetch(external.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text }).then(async (r) => reply(await r.json()))
      })
    })
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
    const rpcUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`
    try {
      const data = dataDir()
      const settings = marketOf(`market:\n  chain: { rpcUrl: "${rpcUrl}", chainId: 4242 }\n${realToken}`)
      const chain = await openChain({ chain: settings.chain, dataDir: data })
      const error = await openMarket({ chain, settings, dataDir: data, passphrase }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(OperatorUnfundedError)
      expect((error as Error).message).toMatch(new RegExp(`^operator 0x[0-9a-fA-F]{40} has 0 ETH on chain 4242 at ${rpcUrl}; fund it`))
      expect(existsSync(join(data, 'chain', 'market.json'))).toBe(false)
      const m = await openMarket({ chain, settings, dataDir: data, passphrase }).catch((e: unknown) => e)
      expect((m as Error).message).toBe((error as Error).message) // the same key, not a new one each start
      expect((error as Error).message).toContain(join(data, 'keys', 'operator.json'))
    } finally {
      proxy.close()
    }
  })
})
