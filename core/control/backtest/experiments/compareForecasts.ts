// Offline forecast comparison on the simulated site's own measurements (a fast history pass),
// for choosing forecast settings on a week that is not the reported one.
// Usage: node --import tsx core/control/backtest/experiments/compareForecasts.ts FROM_ISO DAYS
//   measures FROM - 8 days .. FROM + DAYS, then issues a 96-slot forecast every hour of the
//   DAYS and prints the mean absolute error (W) of each PV and load method over the horizon.
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { createSiteLoadForecaster } from '../../../forecast/createSiteLoadForecaster.ts'
import { clearSkyPvPower } from '../../../forecast/clearSkyPvPower.ts'
import { forecastPv } from '../../../forecast/forecastPv.ts'
import { forecastPvPersistence } from '../../../forecast/forecastPvPersistence.ts'
import { writeSteppedSiteFile } from '../../../simulator/writeSteppedSiteFile.ts'
import { measureSiteHistory } from '../measureSiteHistory.ts'
import { prepareSiteLoadModel } from '../prepareSiteLoadModel.ts'

const dayMs = 86_400_000
const slotMs = 900_000
const horizon = 96
const fromMs = Date.parse(process.argv[2] ?? '2013-02-03T13:00:00Z')
const days = Number(process.argv[3] ?? 7)
const siteFile = fileURLToPath(new URL('../../../../hardware-sims/sites/demo.yaml', import.meta.url))
const csv = fileURLToPath(new URL('../../../../models/data/vic-elec-2012-2014.csv', import.meta.url))
const site = parse(readFileSync(siteFile, 'utf8'))
const dir = mkdtempSync(join(tmpdir(), 'gridmesh-compare-'))
const simSite = join(dir, 'site.yaml')
const startMs = fromMs - 8 * dayMs
writeSteppedSiteFile(simSite, site, startMs)
const measured = await measureSiteHistory({ simSiteFile: simSite, simSite: site, seed: 1, fromMs: startMs, toMs: fromMs + days * dayMs + horizon * slotMs, slotMs })
const inverter = site.devices.find((d: { kind: string }) => d.kind === 'inverter')
const pvSite = { latitudeDeg: site.location.latitudeDeg, longitudeDeg: site.location.longitudeDeg, tiltDeg: inverter.tiltDeg, azimuthDeg: inverter.azimuthDeg, peakPowerKw: (inverter.ratedW * (inverter.dcAcRatio ?? 1.1)) / 1000 }
const prepared = await prepareSiteLoadModel({ historyFile: csv, cutoffMs: fromMs, timeZone: site.location.timezone })
const withModel = createSiteLoadForecaster({ timeZone: site.location.timezone, model: prepared, holidays: prepared.holidays })
const naive = createSiteLoadForecaster({ timeZone: site.location.timezone })
const byStart = new Map(measured.map((m) => [m.startMs, m]))
const errors = new Map<string, number[]>()
const add = (name: string, forecast: number[], truth: number[]) => {
  const e = forecast.reduce((s, v, i) => s + Math.abs(v - truth[i]!), 0) / truth.length
  errors.set(name, [...(errors.get(name) ?? []), e])
}
for (let t = fromMs; t < fromMs + days * dayMs; t += 3_600_000) {
  const past = measured.filter((m) => m.startMs < t && m.startMs >= t - 9 * dayMs)
  const truth = Array.from({ length: horizon }, (_, k) => byStart.get(t + k * slotMs)!)
  const pvHistory = { timesMs: past.map((m) => m.startMs + slotMs / 2), powerKw: past.map((m) => m.pvW / 1000) }
  add('pv clear-sky x 3-day scale', forecastPv({ site: pvSite, fromMs: t, slotMs, slots: horizon, history: pvHistory }).forecast.map((f) => f.powerKw * 1000), truth.map((x) => x.pvW))
  for (const hours of [6, 24, 48, 1000]) {
    for (const recentSamples of [2, 4, 8, 16]) {
      add(`pv persistence ${hours} h, last ${recentSamples}`, forecastPvPersistence({ site: pvSite, fromMs: t, slotMs, slots: horizon, history: pvHistory, persistenceMs: hours * 3_600_000, recentSamples }).powerKw.map((p) => p * 1000), truth.map((x) => x.pvW))
    }
  }
  add('load seasonal naive', naive.forecast({ history: past, fromMs: t, slotMs, slots: horizon }).loadW, truth.map((x) => x.loadW))
  add('load model', withModel.forecast({ history: past, fromMs: t, slotMs, slots: horizon }).loadW, truth.map((x) => x.loadW))
}
// Measured / clear-sky by local hour over the whole pass: a shape the clear-sky model misses shows here.
const byHour = new Map<number, { m: number; c: number }>()
for (const m of measured) {
  const clear = clearSkyPvPower(pvSite, m.startMs + slotMs / 2).powerKw * 1000
  if (clear < 0.05 * pvSite.peakPowerKw * 1000) continue
  const hour = new Date(m.startMs + 11 * 3_600_000).getUTCHours()
  const h = byHour.get(hour) ?? { m: 0, c: 0 }
  byHour.set(hour, { m: h.m + m.pvW, c: h.c + clear })
}
console.log('measured / clear-sky by local (AEDT) hour:', [...byHour].sort((a, b) => a[0] - b[0]).map(([h, v]) => `${h}:${(v.m / v.c).toFixed(2)}`).join(' '))
const meanLoad = measured.reduce((s, m) => s + m.loadW, 0) / measured.length
console.log(`${new Date(fromMs).toISOString()} + ${days} days, ${errors.get('load model')!.length} issues, mean load ${meanLoad.toFixed(0)} W`)
for (const [name, e] of errors) console.log(`${name.padEnd(28)} MAE ${(e.reduce((a, b) => a + b, 0) / e.length).toFixed(1)} W`)
