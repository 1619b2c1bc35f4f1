// Judges the simulator with peers that are not ours: Debian's mbpoll reads 'SunS' at each
// device's base, and the pymodbus walker (test/peers/sunspec_walk.py, which lays models out from
// the SunSpec JSON itself) walks every model chain, decodes scaled points, writes a battery
// setpoint and sees the physics react. Also over the wire: exception codes, injected faults,
// revert timers, a TCP gateway port with two units, two units on one RTU bus (socat pty pair),
// and a simulated day read back through the energy counters. The clock is paused and stepped
// through the control API, so readings are stable while several peers look at them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { python, repoRoot, sunspecWalk } from '../peers/paths.ts'
import { runPeer } from '../peers/runPeer.ts'
import { startPeer, type JsonLine, type StartedPeer } from '../peers/startPeer.ts'

type Ready = { event: 'ready'; device: string; kind: string; transport: string; host: string | null; port: number | null; path: string | null; unitId: number; sunspecBase: number }
type WalkedModel = { id: number; address: number; length: number; known: boolean; points: Record<string, unknown> }
type Walk = { base: number; models: WalkedModel[]; warnings: string[] }
type Point = { value: number | null; raw: number | null; sf: number | null; address: number }
type SimState = { timeMs: number; powerW: { load: number; pv: number; battery: number; grid: number }; devices: Array<{ name: string; powerW?: number; socPct?: number }> }

// model lengths from shared/reference/sunspec/README.md
const referenceLength: Record<number, number> = { 1: 66, 103: 50, 120: 26, 121: 30, 122: 44, 123: 24, 124: 24, 203: 105, 704: 65, 713: 7, 802: 62 }
const chains: Record<string, number[]> = {
  inverter: [1, 103, 120, 121, 122, 123],
  battery: [1, 103, 120, 124, 704, 713, 802],
  meter: [1, 203],
}
// Melbourne summer noon: the PV inverter produces, so every balance term is non-zero
const start = '2013-01-15T12:00:00+11:00'
const batteryCapacityWh = 13_500
const chargeEfficiency = 0.95

// Mandatory SunSpec points (`mandatory: "M"`) the simulator may serve as "not implemented":
// none (this test found 21 such gaps, since fixed); it fails on any gap not listed here.
const knownMandatoryGaps: Record<string, string[]> = { inverter: [], battery: [], meter: [] }

const workDir = mkdtempSync(join(tmpdir(), 'gridmesh-sim-peers-'))
const started: StartedPeer[] = []

afterAll(async () => {
  await Promise.all(started.map((peer) => peer.stop()))
  rmSync(workDir, { recursive: true, force: true })
})

async function startSim(name: string, siteYaml: string): Promise<{ sim: StartedPeer; ready: Ready[]; api: string }> {
  const site = join(workDir, `${name}.yaml`)
  writeFileSync(site, siteYaml)
  const sim = startPeer(process.execPath, [join(repoRoot, 'bin', 'gridmesh.js'), 'sim', '--site', site, '--speed', '0', '--seed', '7'], { cwd: repoRoot })
  started.push(sim)
  const apiLine = await sim.waitForLine((line) => line.event === 'api', 45_000)
  const ready = sim.lines.filter((line: JsonLine) => line.event === 'ready') as unknown as Ready[]
  return { sim, ready, api: String(apiLine.url) }
}

async function api<T>(base: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  })
  const text = await response.text()
  if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status}: ${text}`)
  return JSON.parse(text) as T
}

async function walker<T>(connection: string[], args: string[], timeoutMs = 20_000): Promise<T> {
  const run = await runPeer(python, [sunspecWalk, ...connection, ...args], timeoutMs)
  if (run.code !== 0) throw new Error(`sunspec_walk.py ${[...connection, ...args].join(' ')} exited ${run.code}${run.timedOut ? ' (timed out)' : ''}: ${run.stderr}`)
  return JSON.parse(run.stdout) as T
}

async function mbpollHex(args: string[]): Promise<string[]> {
  const run = await runPeer('mbpoll', [...args, '-t', '4:hex', '-1'], 15_000)
  if (run.code !== 0) throw new Error(`mbpoll ${args.join(' ')} exited ${run.code}: ${run.stdout.slice(-400)} ${run.stderr}`)
  return [...run.stdout.matchAll(/^\[\d+\]:\s+(0x[0-9A-F]+)/gm)].map((match) => match[1] ?? '')
}

function tcpSite(): string {
  const tcp = (unitId: number) => `{ type: tcp, host: 127.0.0.1, port: 0, unitId: ${unitId} }`
  return `name: sim-peers
location: { latitudeDeg: -37.81, longitudeDeg: 144.96, timezone: Australia/Melbourne }
clock: { speed: 0, start: "${start}" }
load: { peakW: 7000 }
api: { host: 127.0.0.1, port: 0 }
devices:
  - { name: pv1, kind: inverter, transport: ${tcp(1)}, sunspecBase: 40000, ratedW: 8000, tiltDeg: 25, azimuthDeg: 0, commandTimeoutS: 86400 }
  - { name: bat1, kind: battery, transport: ${tcp(2)}, sunspecBase: 40000, capacityWh: ${batteryCapacityWh}, maxChargeW: 5000, maxDischargeW: 5000,
      chargeEfficiency: ${chargeEfficiency}, dischargeEfficiency: 0.95, initialSocPct: 50, commandTimeoutS: 86400, fallback: idle }
  - { name: meter1, kind: meter, transport: ${tcp(5)}, sunspecBase: 40000 }
`
}

describe('simulator over Modbus TCP, judged by mbpoll and pymodbus', () => {
  let ready: Ready[] = []
  let apiUrl = ''
  let sim: StartedPeer
  const device = (kind: string): Ready => {
    const found = ready.find((r) => r.kind === kind)
    if (!found) throw new Error(`no ${kind} in ready lines ${JSON.stringify(ready)}`)
    return found
  }
  const tcpArgs = (kind: string): string[] => ['--port', String(device(kind).port), '--unit', String(device(kind).unitId)]
  const read = (kind: string, model: number, point: string) => walker<Point>(tcpArgs(kind), ['read', '--model', String(model), '--point', point])
  const advance = (seconds: number) => api<{ timeMs: number }>(apiUrl, 'POST', '/api/clock/advance', { seconds })
  const state = () => api<SimState>(apiUrl, 'GET', '/api/state')

  beforeAll(async () => {
    ;({ sim, ready, api: apiUrl } = await startSim('tcp', tcpSite()))
    await advance(1)
  }, 60_000)

  it('prints one ready line per device with a real port, then the API line', () => {
    expect(ready.map((r) => [r.device, r.kind, r.transport, r.unitId, r.sunspecBase])).toEqual([
      ['pv1', 'inverter', 'tcp', 1, 40000],
      ['bat1', 'battery', 'tcp', 2, 40000],
      ['meter1', 'meter', 'tcp', 5, 40000],
    ])
    for (const r of ready) expect(r.port).toBeGreaterThan(0)
    expect(sim.lines.at(-1)?.event).toBe('api')
    expect(apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
  })

  it("mbpoll reads 'SunS' at the base of every device", async () => {
    for (const r of ready) {
      const words = await mbpollHex(['-m', 'tcp', '-a', String(r.unitId), '-r', String(r.sunspecBase + 1), '-c', '2', '-p', String(r.port), '127.0.0.1'])
      expect(words, r.device).toEqual(['0x5375', '0x6E53'])
    }
  })

  it('pymodbus walks every model chain to 0xFFFF with the reference lengths', async () => {
    for (const r of ready) {
      const walk = await walker<Walk>(tcpArgs(r.kind), ['walk'])
      expect(walk.base, r.device).toBe(r.sunspecBase)
      expect(walk.models.map((m) => m.id), r.device).toEqual(chains[r.kind])
      expect(walk.models.map((m) => m.length), r.device).toEqual(walk.models.map((m) => referenceLength[m.id]))
      expect(walk.warnings, r.device).toEqual([])
      const common = walk.models[0]?.points ?? {}
      expect(typeof common.Mn, `${r.device} model 1 Mn`).toBe('string')
      expect(typeof common.SN, `${r.device} model 1 SN`).toBe('string')
    }
  })

  it('implements every mandatory point (accumulators excepted: pysunspec2 reads 0 as not implemented)', async () => {
    type RawPoint = { value: unknown; type: string; mandatory: boolean }
    type RawGroup = { points: Record<string, RawPoint>; groups?: Record<string, RawGroup[]> }
    const missing = (group: RawGroup, prefix: string): string[] => [
      ...Object.entries(group.points)
        .filter(([, p]) => p.mandatory && p.value === null && !p.type.startsWith('acc'))
        .map(([name]) => prefix + name),
      ...Object.entries(group.groups ?? {}).flatMap(([name, list]) => list.flatMap((g, i) => missing(g, `${prefix}${name}[${i}].`))),
    ]
    for (const r of ready) {
      const walk = await walker<{ models: Array<RawGroup & { id: number }> }>(tcpArgs(r.kind), ['walk', '--raw'])
      const gaps = walk.models.flatMap((m) => missing(m, `${m.id}.`))
      expect(gaps.filter((gap) => !knownMandatoryGaps[r.kind]?.includes(gap)), `${r.device}: mandatory points not implemented`).toEqual([])
    }
  })

  it('tells the same story in every model: ratings from the site file, one SoC, one power', async () => {
    const points = async (kind: string): Promise<Map<number, Record<string, unknown>>> => {
      const walk = await walker<Walk>(tcpArgs(kind), ['walk'])
      return new Map(walk.models.map((m) => [m.id, m.points]))
    }
    const num = (models: Map<number, Record<string, unknown>>, id: number, point: string): number => {
      const value = models.get(id)?.[point]
      if (typeof value !== 'number') throw new Error(`model ${id} ${point}: expected a number, got ${JSON.stringify(value)}`)
      return value
    }
    const inverter = await points('inverter')
    expect(num(inverter, 120, 'WRtg')).toBe(8000)
    expect(num(inverter, 121, 'WMax')).toBe(8000)
    expect(num(inverter, 103, 'W')).toBeLessThanOrEqual(8000)
    const battery = await points('battery')
    expect(num(battery, 713, 'WHRtg')).toBe(batteryCapacityWh)
    expect(num(battery, 802, 'WHRtg')).toBe(batteryCapacityWh)
    expect(num(battery, 124, 'WChaMax')).toBe(5000)
    expect([num(battery, 802, 'WChaRteMax'), num(battery, 802, 'WDisChaRteMax')]).toEqual([5000, 5000])
    const soc = num(battery, 802, 'SoC')
    expect(Math.abs(num(battery, 713, 'SoC') - soc)).toBeLessThanOrEqual(0.5)
    expect(Math.abs(num(battery, 124, 'ChaState') - soc)).toBeLessThanOrEqual(0.5)
    expect(num(battery, 103, 'W')).toBe(num(battery, 802, 'W'))
    const meter = await points('meter')
    const phases = num(meter, 203, 'WphA') + num(meter, 203, 'WphB') + num(meter, 203, 'WphC')
    expect(Math.abs(phases - num(meter, 203, 'W'))).toBeLessThanOrEqual(3)
  })

  it('decodes scaled points that agree with the simulator state', async () => {
    const s = await state()
    const pv = await read('inverter', 103, 'W')
    const hz = await read('inverter', 103, 'Hz')
    const soc = await read('battery', 802, 'SoC')
    const meter = await read('meter', 203, 'W')
    expect(s.powerW.pv).toBeGreaterThan(500) // summer noon
    expect(pv.value).not.toBeNull()
    expect(Math.abs((pv.value ?? 0) - s.powerW.pv)).toBeLessThanOrEqual(Math.max(1, 10 ** (pv.sf ?? 0)))
    expect(hz.value).toBeGreaterThan(49)
    expect(hz.value).toBeLessThan(51)
    expect(soc.value).toBeCloseTo(s.devices.find((d) => d.name === 'bat1')?.socPct ?? NaN, 0)
    expect(Math.abs((meter.value ?? 0) - s.powerW.grid)).toBeLessThanOrEqual(Math.max(1, 10 ** (meter.sf ?? 0)))
  })

  it('a charge setpoint written through 704 moves the battery, the meter and the energy balance', async () => {
    const before = { bat: await read('battery', 802, 'W'), meter: await read('meter', 203, 'W'), pv: await read('inverter', 103, 'W') }
    expect(before.bat.value).toBe(0) // fallback: idle
    await walker(tcpArgs('battery'), ['write', '--model', '704', '--point', 'WSetEna', '--value', '1', '--point', 'WSetMod', '--value', '1', '--point', 'WSet', '--value', '-3000'])
    expect((await read('battery', 704, 'WSet')).value).toBe(-3000)
    await advance(1)
    const after = { bat: await read('battery', 802, 'W'), bat103: await read('battery', 103, 'W'), meter: await read('meter', 203, 'W'), pv: await read('inverter', 103, 'W') }
    expect(after.bat.value).toBeCloseTo(-3000, -2)
    expect(after.bat103.value).toBeCloseTo(-3000, -2)
    // grid = load - pv - battery: the meter rises by the charge power (PV and load barely move in 1 s)
    const pvChange = (after.pv.value ?? 0) - (before.pv.value ?? 0)
    expect((after.meter.value ?? 0) - (before.meter.value ?? 0) + pvChange).toBeGreaterThan(2800)
    expect((after.meter.value ?? 0) - (before.meter.value ?? 0) + pvChange).toBeLessThan(3200)
  })

  it('the state of charge rises over simulated time at the charge power times efficiency', async () => {
    const soc0 = (await read('battery', 802, 'SoC')).value ?? NaN
    await advance(600)
    const soc1 = (await read('battery', 802, 'SoC')).value ?? NaN
    const expected = ((3000 * chargeEfficiency * (600 / 3600)) / batteryCapacityWh) * 100 // 3.52 %
    expect(soc1 - soc0).toBeGreaterThan(expected - 0.3)
    expect(soc1 - soc0).toBeLessThan(expected + 0.3)
    expect((await read('battery', 802, 'W')).value).toBeCloseTo(-3000, -2)
  })

  it('the running clock (speed 3600 through the API) integrates too', async () => {
    const t0 = (await state()).timeMs
    const soc0 = (await read('battery', 802, 'SoC')).value ?? NaN
    await api(apiUrl, 'PUT', '/api/clock', { speed: 3600 })
    await new Promise((resolve) => setTimeout(resolve, 1500))
    await api(apiUrl, 'PUT', '/api/clock', { speed: 0 })
    const t1 = (await state()).timeMs
    const soc1 = (await read('battery', 802, 'SoC')).value ?? NaN
    const hours = (t1 - t0) / 3_600_000
    expect(hours).toBeGreaterThan(0.3)
    const expected = ((3000 * chargeEfficiency * hours) / batteryCapacityWh) * 100
    expect(Math.abs(soc1 - soc0 - expected)).toBeLessThan(0.5)
  })

  it('an inverter limit written through 123 caps the AC output', async () => {
    const wmax = (await read('inverter', 121, 'WMax')).value ?? NaN
    const available = (await state()).powerW.pv
    expect(available).toBeGreaterThan(0.3 * wmax)
    await walker(tcpArgs('inverter'), ['write', '--model', '123', '--point', 'WMaxLimPct', '--value', '25', '--point', 'WMaxLim_Ena', '--value', '1'])
    await advance(1)
    const capped = (await read('inverter', 103, 'W')).value ?? NaN
    expect(capped).toBeLessThanOrEqual(0.25 * wmax + 1)
    expect(capped).toBeGreaterThan(0.2 * wmax)
  })

  it('answers an illegal function, address or value with the right exception, and keeps the old value', async () => {
    const inv = device('inverter')
    const tcp = ['-m', 'tcp', '-a', String(inv.unitId), '-p', String(inv.port), '-1']
    const coils = await runPeer('mbpoll', [...tcp, '-t', '0', '-r', '1', '-c', '1', '127.0.0.1'], 15_000)
    expect(coils.code).not.toBe(0)
    expect(coils.stdout + coils.stderr).toMatch(/Illegal function/i)
    const beyond = await runPeer('mbpoll', [...tcp, '-t', '4', '-r', String(inv.sunspecBase + 2001), '-c', '2', '127.0.0.1'], 15_000)
    expect(beyond.code).not.toBe(0)
    expect(beyond.stdout + beyond.stderr).toMatch(/Illegal data address/i)
    const readOnly = await runPeer(python, [sunspecWalk, ...tcpArgs('inverter'), 'write', '--model', '103', '--point', 'W', '--value', '5', '--force'])
    expect(readOnly.code).toBe(1)
    expect(JSON.parse(readOnly.stderr).error).toMatch(/exception code 2\b/)
    const tooHigh = await runPeer(python, [sunspecWalk, ...tcpArgs('inverter'), 'write', '--model', '123', '--point', 'WMaxLimPct', '--value', '150'])
    expect(tooHigh.code).toBe(1)
    expect(JSON.parse(tooHigh.stderr).error).toMatch(/exception code 3\b/)
    expect((await read('inverter', 123, 'WMaxLimPct')).value).toBe(25)
  })

  it('injected faults reach the wire: exception replies, sentinel points, silence', async () => {
    const faults = '/api/devices/meter1/faults'
    await api(apiUrl, 'PUT', faults, { exceptionCode: 6 })
    const busy = await runPeer(python, [sunspecWalk, ...tcpArgs('meter'), 'read', '--model', '203', '--point', 'W'])
    expect(busy.code).toBe(1)
    expect(JSON.parse(busy.stderr).error).toMatch(/exception code 6\b/)
    await api(apiUrl, 'DELETE', faults)
    await api(apiUrl, 'PUT', faults, { sentinelPoints: ['203.W'] })
    const [w, hz] = await walker<Point[]>(tcpArgs('meter'), ['read', '--model', '203', '--point', 'W', '--point', 'Hz'])
    expect(w).toMatchObject({ raw: null, value: null })
    expect(hz?.value).toBeGreaterThan(49)
    await api(apiUrl, 'PUT', faults, { sentinelPoints: [], noResponse: true })
    const meter = device('meter')
    const silent = await runPeer('mbpoll', ['-m', 'tcp', '-a', String(meter.unitId), '-p', String(meter.port), '-o', '0.5', '-t', '4:hex', '-1', '-r', '40001', '-c', '2', '127.0.0.1'], 15_000)
    expect(silent.code).not.toBe(0)
    expect(silent.stdout + silent.stderr).toMatch(/timed out/i)
    await api(apiUrl, 'DELETE', faults)
    expect(typeof (await read('meter', 203, 'W')).value).toBe('number')
  })

  it('more faults on the wire: late replies, refused connections, a tripped inverter, frozen values', async () => {
    const meter = device('meter')
    const meterTcp = ['-m', 'tcp', '-a', String(meter.unitId), '-p', String(meter.port), '-t', '4:hex', '-1', '-r', '40001', '-c', '2']
    await api(apiUrl, 'PUT', '/api/devices/meter1/faults', { delayMs: 1500 })
    const late = await runPeer('mbpoll', [...meterTcp, '-o', '0.5', '127.0.0.1'], 15_000)
    expect(late.stdout + late.stderr).toMatch(/timed out/i)
    expect((await read('meter', 203, 'W')).value).toEqual(expect.any(Number)) // the walker waits 3 s
    await api(apiUrl, 'PUT', '/api/devices/meter1/faults', { delayMs: 0, refuseConnections: true })
    const refused = await runPeer('mbpoll', [...meterTcp, '127.0.0.1'], 15_000)
    expect(refused.code).not.toBe(0)
    expect(refused.stdout).not.toMatch(/0x5375/)
    await api(apiUrl, 'PUT', '/api/devices/meter1/faults', { refuseConnections: false, frozen: true })
    const frozen = (await read('meter', 203, 'W')).value
    await advance(600)
    expect((await read('meter', 203, 'W')).value).toBe(frozen)
    await api(apiUrl, 'DELETE', '/api/devices/meter1/faults')
    const grid = (await state()).powerW.grid
    expect(Math.abs(((await read('meter', 203, 'W')).value ?? NaN) - grid)).toBeLessThanOrEqual(1)

    await api(apiUrl, 'PUT', '/api/devices/pv1/faults', { tripped: true })
    await advance(1)
    const [st, w] = await walker<Point[]>(tcpArgs('inverter'), ['read', '--model', '103', '--point', 'St', '--point', 'W'])
    expect(st?.value).toBe(7) // 103 St FAULT
    expect(w?.value).toBe(0)
    await api(apiUrl, 'DELETE', '/api/devices/pv1/faults')
    await advance(1)
    expect((await read('inverter', 103, 'W')).value).toBeGreaterThan(0)
  })

  it('controls revert when not refreshed: 704 WSetRvrtTms with the 802 CtrlHb heartbeat, 123 WMaxLimPct_RvrtTms', async () => {
    await walker(tcpArgs('battery'), ['write', '--model', '704', '--point', 'WSetRvrtTms', '--value', '30', '--point', 'WSetEna', '--value', '1', '--point', 'WSetMod', '--value', '1', '--point', 'WSet', '--value', '-2000'])
    await advance(20)
    expect((await read('battery', 802, 'W')).value).toBeCloseTo(-2000, -2)
    await walker(tcpArgs('battery'), ['write', '--model', '802', '--point', 'CtrlHb', '--value', '1'])
    await advance(20) // 40 s after the setpoint, 20 s after the heartbeat
    expect((await read('battery', 802, 'W')).value).toBeCloseTo(-2000, -2)
    await advance(15) // 35 s after the heartbeat: back to the idle fallback
    expect((await read('battery', 802, 'W')).value).toBe(0)

    const wmax = (await read('inverter', 121, 'WMax')).value ?? NaN
    await walker(tcpArgs('inverter'), ['write', '--model', '123', '--point', 'WMaxLimPct_RvrtTms', '--value', '10', '--point', 'WMaxLimPct', '--value', '25', '--point', 'WMaxLim_Ena', '--value', '1'])
    await advance(1)
    expect((await read('inverter', 103, 'W')).value).toBeLessThanOrEqual(0.25 * wmax + 1)
    await advance(10)
    const available = (await state()).devices.find((d) => d.name === 'pv1')
    expect(available?.powerW).toBeGreaterThan(0.3 * wmax)
    expect(Math.abs(((await read('inverter', 103, 'W')).value ?? NaN) - (available?.powerW ?? NaN))).toBeLessThanOrEqual(1)
  })

  it('stops on SIGTERM', async () => {
    await sim.stop(5000)
    expect(sim.child.signalCode === null ? sim.child.exitCode : sim.child.signalCode).toBe(0)
  })
})

describe('a simulated day, read back through the Modbus energy counters', () => {
  let ready: Ready[] = []
  let apiUrl = ''

  beforeAll(async () => {
    const tcp = `{ type: tcp, host: 127.0.0.1, port: 0, unitId: 1 }`
    ;({ ready, api: apiUrl } = await startSim(
      'day',
      `name: sim-peers-day
location: { latitudeDeg: -37.81, longitudeDeg: 144.96, timezone: Australia/Melbourne }
clock: { speed: 0, start: "2013-01-15T00:00:00+11:00" }
load: { peakW: 7000 }
api: { host: 127.0.0.1, port: 0 }
devices:
  - { name: pv1, kind: inverter, transport: ${tcp}, ratedW: 8000, tiltDeg: 25, azimuthDeg: 0 }
  - { name: bat1, kind: battery, transport: ${tcp}, capacityWh: 13500, maxChargeW: 5000, maxDischargeW: 5000, fallback: self-consumption }
  - { name: meter1, kind: meter, transport: ${tcp} }
`,
    ))
  }, 60_000)

  it('PV, grid and battery counters match the simulator and balance the load within 1 %', async () => {
    await api(apiUrl, 'POST', '/api/clock/advance', { seconds: 86_400 })
    const port = (kind: string) => ['--port', String(ready.find((r) => r.kind === kind)?.port)]
    const pvWh = (await walker<Point>(port('inverter'), ['read', '--model', '103', '--point', 'WH'])).value
    const batteryOutWh = (await walker<Point>(port('battery'), ['read', '--model', '103', '--point', 'WH'])).value
    const [imported, exported] = await walker<Point[]>(port('meter'), ['read', '--model', '203', '--point', 'TotWhImp', '--point', 'TotWhExp'])
    // acc32 0 reads as "not implemented" (pysunspec2's rule): a counter that never moved
    const importWh = imported?.value ?? 0
    const exportWh = exported?.value ?? 0
    const { energyWh } = await api<{ energyWh: Record<string, number> }>(apiUrl, 'GET', '/api/state')
    expect(pvWh).toBeGreaterThan(10_000) // a summer day
    expect(Math.abs((pvWh ?? 0) - (energyWh.pvWh ?? NaN))).toBeLessThanOrEqual(1)
    expect(Math.abs(importWh - (energyWh.gridImportWh ?? NaN))).toBeLessThanOrEqual(1)
    expect(Math.abs(exportWh - (energyWh.gridExportWh ?? NaN))).toBeLessThanOrEqual(1)
    expect(Math.abs((batteryOutWh ?? 0) - (energyWh.batteryDischarge ?? NaN))).toBeLessThanOrEqual(1)
    // the battery's charge energy has no SunSpec counter here, so it comes from the API
    const supplied = (pvWh ?? 0) + importWh - exportWh + (batteryOutWh ?? 0) - (energyWh.batteryCharge ?? NaN)
    expect(Math.abs(supplied - (energyWh.loadWh ?? NaN))).toBeLessThan(0.01 * (energyWh.loadWh ?? NaN))
  })
})

describe('simulator as a TCP gateway: two unit IDs behind one port', () => {
  let sim: StartedPeer
  let port = 0

  beforeAll(async () => {
    // a port that was free a moment ago: the site file needs the same number twice
    port = await new Promise<number>((resolve, reject) => {
      const probe = createServer()
      probe.once('error', reject)
      probe.listen(0, '127.0.0.1', () => {
        const address = probe.address()
        probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
      })
    })
    ;({ sim } = await startSim(
      'gateway',
      `name: sim-peers-gateway
location: { latitudeDeg: -37.81, longitudeDeg: 144.96, timezone: Australia/Melbourne }
clock: { speed: 0, start: "${start}" }
load: { peakW: 7000 }
api: { host: 127.0.0.1, port: 0 }
devices:
  - { name: pv1, kind: inverter, transport: { type: tcp, host: 127.0.0.1, port: ${port}, unitId: 1 }, sunspecBase: 40000, ratedW: 8000 }
  - { name: meter1, kind: meter, transport: { type: tcp, host: 127.0.0.1, port: ${port}, unitId: 2 }, sunspecBase: 50000 }
`,
    ))
  }, 60_000)

  it('serves each unit its own chain at its own base; an unknown unit gets exception 0x0B', async () => {
    expect(sim.lines.filter((line) => line.event === 'ready').map((line) => [line.device, line.port, line.unitId])).toEqual([
      ['pv1', port, 1],
      ['meter1', port, 2],
    ])
    expect(await mbpollHex(['-m', 'tcp', '-a', '2', '-r', '50001', '-c', '2', '-p', String(port), '127.0.0.1'])).toEqual(['0x5375', '0x6E53'])
    const inverter = await walker<Walk>(['--port', String(port), '--unit', '1'], ['walk'])
    const meter = await walker<Walk>(['--port', String(port), '--unit', '2'], ['walk'])
    expect([inverter.base, inverter.models.map((m) => m.id)]).toEqual([40000, chains.inverter])
    expect([meter.base, meter.models.map((m) => m.id)]).toEqual([50000, chains.meter])
    const unknown = await runPeer(python, [sunspecWalk, '--port', String(port), '--unit', '9', '--base', '40000', 'walk'])
    expect(unknown.code).toBe(1)
    expect(JSON.parse(unknown.stderr).error).toMatch(/exception code 11\b/)
  })

  it('stops on SIGTERM', async () => {
    await sim.stop(5000)
    expect(sim.child.signalCode === null ? sim.child.exitCode : sim.child.signalCode).toBe(0)
  })
})

describe('simulator over Modbus RTU on a socat pty pair, two units on one bus', () => {
  let socat: StartedPeer
  let sim: StartedPeer
  let clientPath = ''
  let apiUrl = ''

  beforeAll(async () => {
    socat = startPeer('socat', ['-d', '-d', 'pty,raw,echo=0', 'pty,raw,echo=0'])
    started.push(socat)
    const deadline = Date.now() + 10_000
    let paths: string[] = []
    while (paths.length < 2) {
      if (Date.now() > deadline) throw new Error(`socat printed no pty pair: ${socat.stderr()}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
      paths = [...socat.stderr().matchAll(/PTY is (\S+)/g)].map((match) => match[1] ?? '')
    }
    const [simPath, otherPath] = paths as [string, string]
    clientPath = otherPath
    ;({ sim } = await startSim(
      'rtu',
      `name: sim-peers-rtu
location: { latitudeDeg: -37.81, longitudeDeg: 144.96, timezone: Australia/Melbourne }
clock: { speed: 0, start: "${start}" }
load: { peakW: 7000 }
api: { host: 127.0.0.1, port: 0 }
devices:
  - { name: meter1, kind: meter, transport: { type: rtu, path: "${simPath}", baudRate: 9600, unitId: 3 }, sunspecBase: 40000 }
  - { name: bat1, kind: battery, transport: { type: rtu, path: "${simPath}", baudRate: 9600, unitId: 4 }, sunspecBase: 40000,
      capacityWh: 13500, maxChargeW: 5000, maxDischargeW: 5000, fallback: idle, commandTimeoutS: 86400 }
`,
    ))
    apiUrl = String(sim.lines.find((line) => line.event === 'api')?.url)
    const ready = sim.lines.filter((line) => line.event === 'ready')
    expect(ready).toMatchObject([
      { device: 'meter1', transport: 'rtu', path: simPath, unitId: 3, port: null },
      { device: 'bat1', transport: 'rtu', path: simPath, unitId: 4, port: null },
    ])
  }, 60_000)

  it("mbpoll reads 'SunS' at the base over RTU", async () => {
    const words = await mbpollHex(['-m', 'rtu', '-b', '9600', '-P', 'none', '-d', '8', '-s', '1', '-a', '3', '-r', '40001', '-c', '2', clientPath])
    expect(words).toEqual(['0x5375', '0x6E53'])
  })

  it('a unit ID the bus does not have gets no reply over RTU', async () => {
    const run = await runPeer('mbpoll', ['-m', 'rtu', '-b', '9600', '-P', 'none', '-a', '9', '-r', '40001', '-c', '2', '-o', '0.5', '-t', '4:hex', '-1', clientPath], 15_000)
    expect(run.code).not.toBe(0)
    expect(run.stdout + run.stderr).toMatch(/timed out/i)
    expect(await mbpollHex(['-m', 'rtu', '-b', '9600', '-P', 'none', '-a', '3', '-r', '40001', '-c', '2', clientPath])).toEqual(['0x5375', '0x6E53'])
  })

  it('a second unit on the same bus takes a setpoint over RTU', async () => {
    const rtu = ['--serial', clientPath, '--baud', '9600', '--unit', '4']
    const walk = await walker<Walk>(rtu, ['walk'], 30_000)
    expect(walk.models.map((m) => m.id)).toEqual(chains.battery)
    await walker(rtu, ['write', '--model', '704', '--point', 'WSetEna', '--value', '1', '--point', 'WSetMod', '--value', '1', '--point', 'WSet', '--value', '1500'])
    await api(apiUrl, 'POST', '/api/clock/advance', { seconds: 1 })
    expect((await walker<Point>(rtu, ['read', '--model', '802', '--point', 'W'])).value).toBeCloseTo(1500, -2)
  })

  it('pymodbus walks the meter chain over RTU', async () => {
    const walk = await walker<Walk>(['--serial', clientPath, '--baud', '9600', '--unit', '3'], ['walk'], 30_000)
    expect(walk.models.map((m) => m.id)).toEqual([1, 203])
    expect(walk.models.map((m) => m.length)).toEqual([66, 105])
    expect(walk.warnings).toEqual([])
    expect(typeof walk.models[1]?.points.W).toBe('number')
  })

  it('stops on SIGTERM', async () => {
    await sim.stop(5000)
    expect(sim.child.signalCode === null ? sim.child.exitCode : sim.child.signalCode).toBe(0)
  })
})
