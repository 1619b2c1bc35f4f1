import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { MeasuredSlot } from '../../simulator/measureHistoryOnDevices.ts'
import { spawnSimulator } from '../../simulator/spawnSimulator.ts'
import { defaultTariff, type Tariff } from '../../control/timeOfUseTariff.ts'
import { createControlLoop } from '../../control/createControlLoop.ts'
import type { BatteryLimits } from '../../control/decideSetpoints.ts'
import type { DeviceDriver } from '../../devices/capabilities.ts'
import { createConnectionPool } from '../../devices/modbus/createConnectionPool.ts'
import { createSunSpecDriver } from '../../devices/sunspec/createSunSpecDriver.ts'
import { createSiteLoadForecaster } from '../../forecast/createSiteLoadForecaster.ts'
import { forecastPvPersistence } from '../../forecast/forecastPvPersistence.ts'
import { planSchedule, type Plan } from '../../schedule/planSchedule.ts'
import { buildDemoPlanInput } from './buildDemoPlanInput.ts'
import type { DemoHardware } from './chooseDemoHardware.ts'
import { DemoSiteError } from './DemoSiteError.ts'
import { measureDemoHistory } from './measureDemoHistory.ts'
import { readDemoSiteTemplate, writeDemoSiteFile } from './writeDemoSiteFile.ts'

const dayMs = 86_400_000
// The backtest's choices (core/control/backtest/NOTES.md): PV persistence fading over 6 h into the 0.67 quantile of the last week's clearness.
const pvPersistenceMs = 6 * 3_600_000
const pvClimatologyQuantile = 0.67

export type StartDemoSiteParameters = {
  siteId: number
  /** the site's own directory: its simulator site files go here */
  workDir: string
  hardware: DemoHardware
  /** weather (cloud) seed of the simulator */
  seed: number
  /** where the simulated clock starts: the chain time of the first market interval; slots (market intervals) start every slotMs from here */
  startMs: number
  /** the plan slot, equal to the market interval */
  slotMs: number
  /** the site's registered caps per interval, as power */
  market: { maxBuyPowerW: number; maxSellPowerW: number }
  /** control cycle in simulated seconds (default 30, as the backtest) */
  cycleS?: number
  /** days measured before `startMs` by a fast pass, the load and PV forecasts' history (default 1: seasonal naive needs yesterday) */
  historyDays?: number
  /** planning horizon in slots (default 96: 24 h) */
  horizonSlots?: number
}

/** Energy through the grid meter: SunSpec 203 TotWhImp / TotWhExp read over Modbus. */
export type GridCounters = { importWh: number; exportWh: number }

export type DemoSite = Awaited<ReturnType<typeof startDemoSite>>

/**
 * One demo site as a site runs: its own simulator process (PV inverter, battery and grid
 * meter as SunSpec Modbus TCP devices on free ports, clock paused and stepped), a fast
 * measurement pass over the day before the market opens for its forecasts, and the
 * control loop applying its latest plan from then on.
 */
export async function startDemoSite(p: StartDemoSiteParameters) {
  const cycleS = p.cycleS ?? 30
  const historyDays = p.historyDays ?? 1
  const horizonSlots = p.horizonSlots ?? 96
  const where = `site ${p.siteId}`
  if (!Number.isInteger(p.slotMs / (cycleS * 1000))) throw new DemoSiteError(`${where}: a ${cycleS} s control cycle does not divide the ${p.slotMs / 1000} s interval`)
  mkdirSync(p.workDir, { recursive: true })
  const siteFile = join(p.workDir, 'site.yaml')
  // The simulator starts the history pass before the market opens; its clock reaches the chain's time of the first interval as the pass ends.
  const historyFromMs = p.startMs - historyDays * dayMs
  writeDemoSiteFile({ path: siteFile, siteId: p.siteId, hardware: p.hardware, startMs: historyFromMs })
  const template = readDemoSiteTemplate()
  const tariff: Tariff = defaultTariff(template.location.timezone)
  const inverter = template.devices.find((d) => d.kind === 'inverter')
  const pvSite = {
    latitudeDeg: template.location.latitudeDeg,
    longitudeDeg: template.location.longitudeDeg,
    tiltDeg: Number(inverter?.tiltDeg ?? 20),
    azimuthDeg: Number(inverter?.azimuthDeg ?? 180),
    peakPowerKw: (p.hardware.pvRatedW * Number(inverter?.dcAcRatio ?? 1.1)) / 1000,
  }

  let sim: Awaited<ReturnType<typeof spawnSimulator>>
  try {
    sim = await spawnSimulator(siteFile, p.seed)
  } catch (cause) {
    throw new DemoSiteError(`${where}: cannot start its simulator (${siteFile}): ${(cause as Error).message}`, { cause })
  }
  const pool = createConnectionPool({ timeoutMs: 2000, retries: 1 })
  const stop = async () => {
    await pool.close()
    await sim.stop()
  }
  try {
    const drivers: DeviceDriver[] = []
    for (const r of sim.ready) drivers.push(await createSunSpecDriver({ name: r.device, client: pool.get({ type: 'tcp', host: '127.0.0.1', port: r.port! }), unitId: r.unitId }))
    const meter = drivers.find((d) => d.meter)?.meter
    const batteryDriver = drivers.find((d) => d.battery)
    const battery = batteryDriver?.battery
    if (!meter || !battery) throw new DemoSiteError(`${where}: ${siteFile}: expected a grid meter and a battery on Modbus; found ${drivers.map((d) => `${d.name} (${d.capabilities.join(', ')})`).join(', ')}`)
    if (!battery.maxChargeW || !battery.maxDischargeW || !battery.capacityWh) throw new DemoSiteError(`${where}: ${batteryDriver.name}: the battery does not report its ratings and capacity`)
    const limits: BatteryLimits = {
      maxChargeW: battery.maxChargeW,
      maxDischargeW: battery.maxDischargeW,
      socMinPct: Math.max(10, battery.socMinPct ?? 0),
      socMaxPct: Math.min(95, battery.socMaxPct ?? 100),
      rampWPerS: Infinity,
    }
    const capacityWh = battery.capacityWh
    const history = await measureDemoHistory({
      advance: (seconds) => sim.advance(seconds),
      meter,
      pvs: drivers.flatMap((d) => (d.pv && !d.battery ? [d.pv] : [])),
      batteries: [battery],
      fromMs: historyFromMs,
      toMs: p.startMs,
      slotMs: p.slotMs,
    })
    const simNowMs = (await sim.state()).timeMs
    if (simNowMs !== p.startMs) throw new DemoSiteError(`${where}: the simulator is at ${new Date(simNowMs).toISOString()} after the history pass; expected ${new Date(p.startMs).toISOString()}, the chain's time of the first interval`)
    const forecaster = createSiteLoadForecaster({ timeZone: template.location.timezone })
    let nowMs = p.startMs
    let plan: Plan | null = null
    /** Net energy sold (> 0) or bought (< 0) per cleared slot, Wh: what the loop must deliver. */
    const commitments = new Map<number, number>()
    const measured: MeasuredSlot[] = []
    let acc = { load: 0, pv: 0, n: 0 }
    const slotHours = p.slotMs / 3_600_000

    const loop = createControlLoop({
      devices: drivers.map((driver) => ({ name: driver.name, driver, staleAfterMs: 3 * cycleS * 1000, refreshMs: 20_000 })),
      batteryLimits: { [batteryDriver.name]: limits },
      site: { maxImportW: null, maxExportW: null },
      now: () => nowMs,
      plan: () => plan,
      planMaxAgeMs: 2 * p.slotMs,
      // A trade the plan in force does not carry (cleared after it was made, or cleared
      // below what it asked): the battery makes up the difference.
      market: () => {
        const slotStartMs = p.startMs + Math.floor((nowMs - p.startMs) / p.slotMs) * p.slotMs
        const committedWh = commitments.get(slotStartMs)
        if (committedWh === undefined) return null
        const slot = plan?.slots.find((s) => s.startMs === slotStartMs)
        const plannedSellW = slot ? slot.marketSellW - slot.marketBuyW : 0
        return { extraExportW: committedWh / slotHours - plannedSellW }
      },
    })

    return {
      tariff,
      apiUrl: sim.apiUrl,
      nowMs: () => nowMs,
      history: () => [...history, ...measured],

      /** Plans from the current sim time over the horizon, with the market open from `marketFromMs`; the loop follows this plan from now on. */
      async replan(marketFromMs: number): Promise<Plan> {
        const past = [...history, ...measured].filter((h) => h.startMs >= nowMs - 8 * dayMs)
        const load = forecaster.forecast({ history: past, fromMs: nowMs, slotMs: p.slotMs, slots: horizonSlots }).loadW
        const pvW = forecastPvPersistence({
          site: pvSite,
          fromMs: nowMs,
          slotMs: p.slotMs,
          slots: horizonSlots,
          history: { timesMs: past.map((h) => h.startMs + p.slotMs / 2), powerKw: past.map((h) => h.pvW / 1000) },
          persistenceMs: pvPersistenceMs,
          climatologyQuantile: pvClimatologyQuantile,
        }).powerKw.map((kw) => kw * 1000)
        const socPct = (await battery.readBattery()).socPct
        if (socPct === null) throw new DemoSiteError(`${where}: ${batteryDriver.name} reports no SoC; cannot plan`)
        const input = buildDemoPlanInput({ startMs: nowMs, slotMs: p.slotMs, loadW: load, pvW, tariff, battery: { capacityWh, socPct, limits }, marketFromMs, market: p.market })
        plan = await planSchedule(input, { nowMs })
        return plan
      },

      /** Records this site's trades in a cleared slot (net sold, Wh) for the loop to deliver. */
      commit(slotStartMs: number, netSellWh: number) {
        commitments.set(slotStartMs, netSellWh)
      },

      /** Runs the control loop every cycle while stepping the simulator's clock up to `toMs`. */
      async runTo(toMs: number): Promise<void> {
        if ((toMs - nowMs) % (cycleS * 1000) !== 0 || toMs < nowMs) throw new DemoSiteError(`${where}: cannot step from ${new Date(nowMs).toISOString()} to ${new Date(toMs).toISOString()} in ${cycleS} s cycles`)
        while (nowMs < toMs) {
          const report = await loop.tick()
          const snap = report.snapshot
          if (snap.gridW !== null && snap.pvW !== null) {
            acc.load += snap.gridW + snap.pvW + snap.batteries.reduce((s, b) => s + (b.powerW ?? 0), 0)
            acc.pv += snap.pvW
            acc.n++
          }
          await sim.advance(cycleS)
          nowMs += cycleS * 1000
          if ((nowMs - p.startMs) % p.slotMs === 0) {
            if (acc.n > 0) measured.push({ startMs: nowMs - p.slotMs, loadW: acc.load / acc.n, pvW: acc.pv / acc.n })
            acc = { load: 0, pv: 0, n: 0 }
          }
        }
      },

      /** The grid meter's energy counters over Modbus (a SunSpec accumulator that has not moved reads as not implemented: 0). */
      async readGridCounters(): Promise<GridCounters> {
        const m = await meter.readMeter()
        return { importWh: m.importWh ?? 0, exportWh: m.exportWh ?? 0 }
      },

      /** The simulator's own account of the grid energy (its HTTP API, not Modbus). */
      async simGridEnergyWh(): Promise<{ importWh: number; exportWh: number; socPct: number | null }> {
        const state = await sim.state()
        return { importWh: state.energyWh.gridImportWh, exportWh: state.energyWh.gridExportWh, socPct: state.devices.find((d) => d.kind === 'battery')?.socPct ?? null }
      },

      stop,
    }
  } catch (error) {
    await stop()
    throw error
  }
}
