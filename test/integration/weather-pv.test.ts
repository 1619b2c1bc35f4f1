// Issue 16, the weather path end to end without internet: the simulator's weather endpoint
// (Open-Meteo hourly JSON of its own sky) named in the site file, `gridmesh serve`'s runtime
// (startSite) fetching it on the stepped clock and planning PV from it; and the same site
// with a location the forecast is not for: an info alarm weather:location, PV from measured
// production instead, and plans all the same.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { afterAll, describe, expect, it } from 'vitest'
import { startSite, type RunningSite } from '../../core/api/startSite.ts'
import { simulatorSiteFile, type SimulatorSite } from '../../core/simulator/simulatorSiteFile.ts'
import { spawnSimulator } from '../../core/simulator/spawnSimulator.ts'
import { steppedSimulatorClock } from '../../core/simulator/steppedSimulatorClock.ts'
import { writeSteppedSiteFile } from '../../core/simulator/writeSteppedSiteFile.ts'

const demo = fileURLToPath(new URL('../../hardware-sims/sites/demo.yaml', import.meta.url))
// 09:00 in Melbourne: the sun is up.
const fromMs = Date.parse('2013-01-14T22:00:00Z')
const slotMs = 900_000
const cycleS = 30
const seed = 3
const work = mkdtempSync(join(tmpdir(), 'gridmesh-weather-pv-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

async function runServe(name: string, control: Record<string, unknown>) {
  const simSite = parse(readFileSync(demo, 'utf8')) as SimulatorSite & Record<string, unknown>
  const file = join(work, `${name}.yaml`)
  writeSteppedSiteFile(file, simSite, fromMs)
  const sim = await spawnSimulator(file, seed)
  const clock = steppedSimulatorClock(sim, fromMs)
  const logged: string[] = []
  let site: RunningSite | null = null
  try {
    const siteFile = simulatorSiteFile({ sim: simSite, ready: sim.ready, apiUrl: sim.apiUrl, control })
    site = await startSite({ site: siteFile, dataDir: join(work, name), port: 0, now: clock.now, clock, staleAfterMs: 3 * cycleS * 1000, log: (m) => logged.push(m) })
    await site.controller.runtime.runTo(fromMs + 2 * slotMs, cycleS)
    return {
      weather: siteFile.control!.weather,
      apiUrl: sim.apiUrl,
      plans: site.controller.runtime.planCount(),
      forecast: site.controller.runtime.forecast(),
      apiPvMethod: site.controller.forecast().pvMethod,
      planStatus: site.controller.plan()?.status,
      planWarnings: site.controller.plan()?.warnings,
      alarms: site.controller.alarms({ state: 'active' }),
      logged,
    }
  } finally {
    await site?.stop()
    await sim.stop()
  }
}

describe('weather source end to end (simulator endpoint -> serve runtime)', () => {
  it('plans PV on the simulator\'s weather forecast; a forecast for another place is an info alarm and a fallback, never a failed plan', { timeout: 600_000 }, async () => {
    const good = await runServe('good', {})
    expect(good.weather?.url).toContain(`${good.apiUrl}/api/weather/forecast?`)
    expect(good.plans).toBeGreaterThanOrEqual(2)
    expect({ status: good.planStatus, warnings: good.planWarnings }).toEqual({ status: 'optimal', warnings: [] })
    expect(good.forecast?.pv.model).toBe('clear-sky-weather')
    expect(good.forecast?.pvMethod).toContain(`clear sky x forecast clearness (${good.apiUrl}/api/weather/forecast`)
    // A summer morning: the forecast has PV in it.
    expect(Math.max(...good.forecast!.pv.valuesW)).toBeGreaterThan(1000)
    expect(good.alarms.filter((a) => a.key.startsWith('weather:'))).toEqual([])
    expect(good.apiPvMethod).toBe(good.forecast?.pvMethod)

    // The site file says the site is a degree east of where the simulator's sky (and its forecast) is.
    const moved = await runServe('moved', { location: { latitudeDeg: -37.81, longitudeDeg: 145.96 } })
    expect(moved.plans).toBeGreaterThanOrEqual(2)
    expect(moved.forecast?.pv.model).toBe('clear-sky-persistence')
    const weatherAlarms = moved.alarms.filter((a) => a.key.startsWith('weather:'))
    expect(weatherAlarms).toEqual([
      expect.objectContaining({
        key: 'weather:location',
        severity: 'info',
        message: expect.stringMatching(/the forecast is for -37\.81, 144\.96, 88 km from the site \(-37\.81, 145\.96\); at most 25 km; the PV forecast falls back to clear sky x measured clearness \(persistence\)$/),
      }),
    ])
    expect(moved.forecast?.pvMethod).toContain('weather not used: weather http://127.0.0.1:')
    expect(moved.apiPvMethod).toBe(moved.forecast?.pvMethod)
    expect(moved.logged.filter((m) => m.includes('PV forecast without the weather'))).toHaveLength(1)
  })
})
