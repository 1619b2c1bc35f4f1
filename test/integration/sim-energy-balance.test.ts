import { afterAll, describe, expect, it } from 'vitest'
import { layoutModel } from '../../core/devices/sunspec/layoutModel.ts'
import { RawModbusTcp } from '../support/rawModbusTcp.ts'
import { spawnSim, writeSiteFile, type SpawnedSim } from '../support/spawnSim.ts'

// A simulated day at high speed through the real command, read back over Modbus:
// PV + grid import + battery discharge = load + battery charge + grid export (within 1 %).
const startMs = Date.parse('2013-01-14T13:00:00Z') // midnight in Melbourne (UTC+11)
const dayMs = 86_400_000
let sim: SpawnedSim | undefined

afterAll(async () => {
  await sim?.stop()
})

async function readScaled(client: RawModbusTcp, base: number, chain: number[], model: number, path: string): Promise<number> {
  let address = base + 2
  for (const id of chain) {
    const layout = layoutModel(id)
    if (id === model) {
      const point = layout.byPath.get(path)!
      const words = await client.readHolding(1, address + point.offset, point.registers)
      const raw = point.registers === 2 ? words[0]! * 65536 + words[1]! : point.definition.type.startsWith('int') && words[0]! >= 0x8000 ? words[0]! - 65536 : words[0]!
      if (!point.sfPath) return raw
      const [sfWord] = await client.readHolding(1, address + layout.byPath.get(point.sfPath)!.offset, 1)
      return raw * 10 ** (sfWord! >= 0x8000 ? sfWord! - 65536 : sfWord!)
    }
    address += 2 + layout.length
  }
  throw new Error(`model ${model} not in chain`)
}

describe('simulated day', () => {
  it('balances energy over a day run at 28,800x', { timeout: 60_000 }, async () => {
    sim = await spawnSim([
      '--site', writeSiteFile({
        name: 'balance',
        location: { latitudeDeg: -37.81, longitudeDeg: 144.96, timezone: 'Australia/Melbourne' },
        clock: { start: new Date(startMs).toISOString() },
        load: { peakW: 7000 },
        api: { host: '127.0.0.1', port: 0 },
        devices: [
          { name: 'pv1', kind: 'inverter', transport: { type: 'tcp', port: 0 }, ratedW: 8000, tiltDeg: 25, azimuthDeg: 0 },
          { name: 'bat1', kind: 'battery', transport: { type: 'tcp', port: 0 }, capacityWh: 13500, maxChargeW: 5000, maxDischargeW: 5000, initialSocPct: 30 },
          { name: 'meter1', kind: 'meter', transport: { type: 'tcp', port: 0 } },
        ],
      }),
      '--speed', '28800', '--seed', '7',
    ])
    const api = async (method: string, path: string, body?: unknown) =>
      (await (await fetch(sim!.apiUrl + path, { method, body: body === undefined ? undefined : JSON.stringify(body) })).json()) as Record<string, unknown>
    let state = await api('GET', '/api/state')
    const deadline = Date.now() + 40_000
    while ((state.timeMs as number) < startMs + dayMs && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200))
      state = await api('GET', '/api/state')
    }
    await api('PUT', '/api/clock', { speed: 0 })
    state = await api('GET', '/api/state')
    expect(state.timeMs as number).toBeGreaterThanOrEqual(startMs + dayMs)

    const port = (name: string) => sim!.ready.find((r) => r.device === name)!.port!
    const pv = await RawModbusTcp.open(port('pv1'))
    const bat = await RawModbusTcp.open(port('bat1'))
    const meter = await RawModbusTcp.open(port('meter1'))
    const pvWh = await readScaled(pv, 40000, [1, 103], 103, 'WH')
    const dischargeWh = await readScaled(bat, 40000, [1, 103], 103, 'WH')
    const socEnd = await readScaled(bat, 40000, [1, 103, 120, 124, 704, 713, 802], 802, 'SoC')
    const importWh = await readScaled(meter, 40000, [1, 203], 203, 'TotWhImp')
    const exportWh = await readScaled(meter, 40000, [1, 203], 203, 'TotWhExp')
    for (const c of [pv, bat, meter]) c.close()
    const energy = state.energyWh as Record<string, number>
    const loadWh = energy.loadWh!
    const chargeWh = energy.batteryCharge!

    // A summer day in Melbourne: real PV, real load, and the battery both charging and discharging.
    expect(pvWh).toBeGreaterThan(20_000)
    expect(loadWh).toBeGreaterThan(60_000)
    expect(chargeWh).toBeGreaterThan(1000)
    expect(dischargeWh).toBeGreaterThan(1000)
    const supply = pvWh + importWh + dischargeWh
    const demand = loadWh + chargeWh + exportWh
    expect(Math.abs(supply - demand) / demand).toBeLessThan(0.01)
    // The battery's SoC moved by what went in and out, through the efficiencies (0.95 each).
    const storedDeltaWh = ((socEnd - 30) / 100) * 13500
    expect(Math.abs(storedDeltaWh - (chargeWh * 0.95 - dischargeWh / 0.95))).toBeLessThan(0.01 * (chargeWh + dischargeWh) + 14)
  })
})
