// Proves the independent peers against each other (and against hand-typed SunSpec offsets)
// before they are used to judge GridMesh: sunspec_walk.py against sunspec_server.py, Debian's
// mbpoll against both servers, the libmodbus C client against the C and pymodbus servers.
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildCPeers, type CPeers } from '../peers/buildCPeers.ts'
import { python, sunspecServer, sunspecWalk } from '../peers/paths.ts'
import { runPeer } from '../peers/runPeer.ts'
import { startPeer, type JsonLine, type StartedPeer } from '../peers/startPeer.ts'

type WalkedGroup = { points: Record<string, unknown>; groups?: Record<string, WalkedGroup[]> }
type WalkedModel = WalkedGroup & { id: number; address: number; length: number; known: boolean; warnings?: string[] }
type Walk = { base: number; unitId: number; end: number; models: WalkedModel[]; warnings: string[] }
type DescribedModel = { id: number; address: number; length: number; values: Record<string, unknown> }

const started: StartedPeer[] = []

async function startServer(args: string[]): Promise<{ peer: StartedPeer; ready: JsonLine; port: number }> {
  const peer = startPeer(python, [sunspecServer, ...args, '--watch-stdin'])
  started.push(peer)
  const ready = await peer.waitForLine((line) => line.event === 'ready', 10_000)
  return { peer, ready, port: Number(ready.port) }
}

async function walkJson<T>(port: number, args: string[]): Promise<T> {
  const run = await runPeer(python, [sunspecWalk, '--port', String(port), ...args])
  if (run.code !== 0) throw new Error(`sunspec_walk.py ${args.join(' ')} exited ${run.code}: ${run.stderr}`)
  return JSON.parse(run.stdout) as T
}

/** `[reference]: value` lines of one mbpoll poll, keyed by the one-based reference. */
async function mbpoll(args: string[]): Promise<Map<number, string>> {
  const run = await runPeer('mbpoll', [...args, '-1'], 15_000)
  if (run.code !== 0) throw new Error(`mbpoll ${args.join(' ')} exited ${run.code}: ${run.stdout.slice(-500)} ${run.stderr}`)
  const values = new Map<number, string>()
  for (const match of run.stdout.matchAll(/^\[(\d+)\]:\s+(\S+)/gm)) values.set(Number(match[1]), match[2] ?? '')
  return values
}

/** name -> value, with group points as `Group[i].Point`. */
function flatten(group: WalkedGroup, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(group.points)) out[prefix + name] = value
  for (const [name, instances] of Object.entries(group.groups ?? {})) {
    instances.forEach((instance, index) => Object.assign(out, flatten(instance, `${prefix}${name}[${index}].`)))
  }
  return out
}

afterAll(async () => {
  await Promise.all(started.map((peer) => peer.stop()))
})

describe('sunspec_walk.py against sunspec_server.py', () => {
  let port = 0
  let ready: JsonLine = {}
  let walk: Walk

  beforeAll(async () => {
    ;({ port, ready } = await startServer(['sunspec', '--base', '50000', '--unit', '7']))
    walk = await walkJson<Walk>(port, ['--unit', '7', 'walk'])
  })

  it('finds base 50000 after 40000 fails and walks the whole chain without warnings', () => {
    expect(walk.base).toBe(50000)
    expect(walk.models.map((model) => model.id)).toEqual([1, 103, 160, 714, 704, 802, 203])
    expect(walk.warnings).toEqual([])
    expect(walk.models.every((model) => model.known)).toBe(true)
  })

  it('agrees with the SunSpec reference on model lengths and header addresses', () => {
    // lengths from shared/reference/sunspec/README.md, not from either peer's code
    const expected: Record<number, number> = { 1: 66, 103: 50, 160: 8 + 2 * 20, 714: 18 + 2 * 25, 704: 65, 802: 62, 203: 105 }
    let address = 50002
    for (const model of walk.models) {
      expect({ id: model.id, address: model.address, length: model.length }).toEqual({ id: model.id, address, length: expected[model.id] })
      address += 2 + model.length
    }
    expect(walk.end).toBe(address)
    expect(ready.models).toEqual(walk.models.map(({ id, address: a, length }) => ({ id, address: a, length })))
  })

  it('decodes every value the server meant to serve, including repeating groups', async () => {
    const described = JSON.parse(
      (await runPeer(python, [sunspecServer, 'describe', '--base', '50000', '--unit', '7'])).stdout,
    ) as { models: DescribedModel[] }
    for (const [index, model] of described.models.entries()) {
      const normalised = Object.fromEntries(
        Object.entries(model.values).map(([path, value]) => [
          path
            .split('.')
            .map((part, i, parts) => (i < parts.length - 1 && !part.includes('[') ? `${part}[0]` : part))
            .join('.'),
          value,
        ]),
      )
      const walked = walk.models[index]
      expect(walked?.id).toBe(model.id)
      expect(flatten(walked as WalkedModel)).toEqual(normalised)
    }
    const byId = new Map(walk.models.map((model) => [model.id, model]))
    expect(byId.get(1)?.points.Mn).toBe('GridMesh Peers')
    expect(byId.get(1)?.points.DA).toBe(7)
    expect(byId.get(103)?.points.W).toBe(2412.3)
    expect(byId.get(103)?.points.VAr).toBeNull() // int16 0x8000
    expect(byId.get(160)?.points.N).toBe(2)
    expect(byId.get(160)?.groups?.module?.[1]?.points.DCV).toBe(379.5)
    expect(byId.get(714)?.groups?.Prt?.[1]?.points.DCW).toBe(-260)
    expect(byId.get(714)?.groups?.Prt?.[0]?.points.Tmp).toBe(38.5) // Tmp_SF at model level
    expect(byId.get(802)?.points.SoC).toBe(46.3)
    expect(byId.get(203)?.points.TotWhImp).toBe(1234567)
  })

  it('puts points where a hand count of the SunSpec tables says (mbpoll reads them raw)', async () => {
    // 103 starts at 50070; W is body offset 12 (A, AphA-C, A_SF, PPVphAB-CA, PhVphA-C, V_SF), W_SF 13
    const read = await walkJson<{ address: number; raw: number; sf: number; value: number }>(port, ['--unit', '7', 'read', '--model', '103', '--point', 'W'])
    expect(read).toMatchObject({ address: 50070 + 2 + 12, raw: 24123, sf: -1, value: 2412.3 })
    const raw = await mbpoll(['-m', 'tcp', '-a', '7', '-r', String(50070 + 2 + 12 + 1), '-c', '2', '-t', '4:hex', '-p', String(port), '127.0.0.1'])
    expect([...raw.values()]).toEqual(['0x5E3B', '0xFFFF'])
    // 714 Prt[1].DCW: 20 registers of model header + top points, 25 per port, DCW at port offset 12
    const port1 = await walkJson<{ address: number }>(port, ['--unit', '7', 'read', '--model', '714', '--point', 'Prt[1].DCW'])
    expect(port1.address).toBe(50172 + 20 + 25 + 12)
    const marker = await mbpoll(['-m', 'tcp', '-a', '7', '-r', '50001', '-c', '2', '-t', '4:hex', '-p', String(port), '127.0.0.1'])
    expect([...marker.values()]).toEqual(['0x5375', '0x6E53'])
  })

  it('writes a scaled int32 setpoint as two registers, high word first, and reads it back', async () => {
    const written = await walkJson<Array<{ address: number; registers: number[] }>>(port, [
      '--unit', '7', 'write', '--model', '704', '--point', 'WSetEna', '--value', '1', '--point', 'WSet', '--value', '-3000',
    ])
    // 704 at 50242: WSetEna is body offset 22, WSet 24-25 (two PF blocks of 6, WMaxLimPct block of 8)
    expect(written.map((w) => w.address)).toEqual([50242 + 22, 50242 + 24])
    expect(written[1]?.registers).toEqual([0xffff, 0xf448])
    const raw = await mbpoll(['-m', 'tcp', '-a', '7', '-r', String(50242 + 24 + 1), '-c', '2', '-t', '4:hex', '-p', String(port), '127.0.0.1'])
    expect([...raw.values()]).toEqual(['0xFFFF', '0xF448'])
    const back = await walkJson<Array<{ value: number }>>(port, ['--unit', '7', 'read', '--model', '704', '--point', 'WSet', '--point', 'WSetEna'])
    expect(back.map((point) => point.value)).toEqual([-3000, 1])
  })

  it('refuses to write a read-only point and reports a missing unit clearly', async () => {
    const readOnly = await runPeer(python, [sunspecWalk, '--port', String(port), '--unit', '7', 'write', '--model', '802', '--point', 'SoC', '--value', '5'])
    expect(readOnly.code).toBe(1)
    expect(JSON.parse(readOnly.stderr).error).toMatch(/SoC is read-only/)
    const wrongUnit = await runPeer(python, [sunspecWalk, '--port', String(port), '--unit', '8', '--timeout', '1', 'walk'])
    expect(wrongUnit.code).toBe(1)
    expect(JSON.parse(wrongUnit.stderr).error).toMatch(/no SunSpec base found/)
  })
})

describe('sunspec_server.py options', () => {
  it('serves at base 40000 and 0, and --set null serves the not-implemented sentinel', async () => {
    for (const base of [40000, 0]) {
      const { port, peer } = await startServer(['sunspec', '--base', String(base), '--models', '1,103', '--set', '103.W=null', '--set', '1.SN="X-1"'])
      const walk = await walkJson<Walk>(port, ['walk'])
      expect(walk.base).toBe(base)
      expect(walk.models.map((model) => model.id)).toEqual([1, 103])
      expect(walk.models[0]?.points.SN).toBe('X-1')
      expect(walk.models[1]?.points.W).toBeNull()
      expect(walk.models[1]?.points.Hz).toBe(50.01)
      await peer.stop()
    }
  })

  it('serves the float models 113 and 213 (NaN = not implemented)', async () => {
    const { port, peer } = await startServer(['sunspec', '--base', '0', '--models', '1,113,213'])
    const walk = await walkJson<Walk>(port, ['walk'])
    expect(walk.base).toBe(0)
    expect(walk.models.map((m) => [m.id, m.length])).toEqual([[1, 66], [113, 60], [213, 124]])
    expect(walk.warnings).toEqual([])
    expect(walk.models[1]?.points).toMatchObject({ W: 2412.5, Hz: 50, VAr: null, St: 4 })
    expect(walk.models[2]?.points).toMatchObject({ W: -1500, Hz: 49.875, TotWhImp: 1234567, VAR: null })
    // 113 W: float32 at body offset 20 (ten float32 points before it), high word first
    const raw = await mbpoll(['-m', 'tcp', '-a', '1', '-r', String(70 + 2 + 20 + 1), '-c', '2', '-t', '4:hex', '-p', String(port), '127.0.0.1'])
    expect([...raw.values()]).toEqual(['0x4516', '0xC800'])
    await peer.stop()
  })

  it('--max-clients 1 closes a second connection at once and serves again when the first leaves', async () => {
    const { port, peer } = await startServer(['sunspec', '--models', '1,103', '--max-clients', '1'])
    const first = connect(port, '127.0.0.1')
    await new Promise<void>((resolve, reject) => first.once('connect', resolve).once('error', reject))
    const refused = await runPeer(python, [sunspecWalk, '--port', String(port), '--timeout', '1', 'walk'])
    expect(refused.code).toBe(1)
    expect(JSON.parse(refused.stderr).error).toMatch(/no SunSpec base found/)
    await new Promise<void>((resolve) => first.end(resolve))
    await new Promise((resolve) => setTimeout(resolve, 200))
    const walk = await walkJson<Walk>(port, ['walk'])
    expect(walk.models.map((m) => m.id)).toEqual([1, 103])
    await peer.stop()
  })

  it('exits when its parent closes stdin (no leaked servers), the C server too', async () => {
    const { peer } = await startServer(['plain'])
    const cServer = startPeer(buildCPeers().server, ['--port', '0', '--watch-stdin'])
    started.push(cServer)
    await cServer.waitForLine((line) => line.event === 'ready', 10_000)
    for (const server of [peer, cServer]) {
      server.child.stdin?.end()
      const exited = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 5000)
        server.child.once('exit', () => {
          clearTimeout(timer)
          resolve(true)
        })
      })
      expect(exited).toBe(true)
    }
  })
})

describe('libmodbus C client against the C and pymodbus servers', () => {
  let peers: CPeers
  let cPort = 0
  let pyPort = 0

  beforeAll(async () => {
    peers = buildCPeers()
    const server = startPeer(peers.server, ['--port', '0', '--address', '40000', '--count', '300', '--watch-stdin'])
    started.push(server)
    cPort = Number((await server.waitForLine((line) => line.event === 'ready', 10_000)).port)
    pyPort = (await startServer(['plain', '--address', '40000', '--count', '200'])).port
  })

  type BenchResult = { requests: number; seconds: number; requestsPerSecond: number; errors: number; firstError: string | null }

  async function bench(port: number, extra: string[] = []): Promise<{ code: number | null; result: BenchResult }> {
    const run = await runPeer(peers.client, ['127.0.0.1', String(port), '--seconds', '0.5', '--warmup', '0.1', ...extra])
    return { code: run.code, result: JSON.parse(run.stdout) as BenchResult }
  }

  it('reads 100 registers in a loop without errors from both servers', async () => {
    for (const port of [cPort, pyPort]) {
      const { code, result } = await bench(port)
      expect(code).toBe(0)
      expect(result.errors).toBe(0)
      expect(result.seconds).toBeGreaterThanOrEqual(0.5)
      expect(result.requests).toBeGreaterThan(50)
      expect(Math.abs(result.requestsPerSecond - result.requests / result.seconds)).toBeLessThan(result.requestsPerSecond * 0.01)
    }
  })

  it('counts exception replies as errors and exits non-zero when nothing succeeded', async () => {
    const { code, result } = await bench(cPort, ['--address', '39990'])
    expect(code).toBe(1)
    expect(result.requests).toBe(0)
    expect(result.errors).toBeGreaterThan(0)
    expect(result.firstError).toMatch(/Illegal data address/i)
  })

  it('serves the register pattern that mbpoll reads back, one client after another', async () => {
    for (let i = 0; i < 2; i++) {
      const values = await mbpoll(['-m', 'tcp', '-a', '1', '-r', '40001', '-c', '3', '-p', String(cPort), '127.0.0.1'])
      expect([...values.values()].map((v) => Number(v))).toEqual([40000, 40001, 40002])
    }
  })
})
