import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { createForecastPlanner, pvArrayOf, weatherSourceOf } from '../../control/createForecastPlanner.ts'
import { createSiteRuntime, siteRuntimeDefaults, type SiteRuntime } from '../../control/createSiteRuntime.ts'
import { defaultTariff, type Tariff } from '../../control/timeOfUseTariff.ts'
import { createSiteLoadForecaster } from '../../forecast/createSiteLoadForecaster.ts'
import type { Plan } from '../../schedule/planSchedule.ts'
import { measureHistoryOnDevices } from '../../simulator/measureHistoryOnDevices.ts'
import { openSiteDevices, type OpenedDevices } from '../../simulator/openSiteDevices.ts'
import { simulatorSiteFile } from '../../simulator/simulatorSiteFile.ts'
import { spawnSimulator } from '../../simulator/spawnSimulator.ts'
import { steppedSimulatorClock } from '../../simulator/steppedSimulatorClock.ts'
import { createSiteMarketPort } from '../../trading/createSiteMarketPort.ts'
import type { DemoHardware } from './chooseDemoHardware.ts'
import { DemoSiteError } from './DemoSiteError.ts'
import { writeDemoSiteFile } from './writeDemoSiteFile.ts'

const dayMs = 86_400_000

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
  const horizonSlots = p.horizonSlots ?? siteRuntimeDefaults.horizonSlots
  const where = `site ${p.siteId}`
  if (!Number.isInteger(p.slotMs / (cycleS * 1000))) throw new DemoSiteError(`${where}: a ${cycleS} s control cycle does not divide the ${p.slotMs / 1000} s interval`)
  mkdirSync(p.workDir, { recursive: true })
  const siteFile = join(p.workDir, 'site.yaml')
  // The simulator starts the history pass before the market opens; its clock reaches the chain's time of the first interval as the pass ends.
  const historyFromMs = p.startMs - historyDays * dayMs
  const simSite = writeDemoSiteFile({ path: siteFile, siteId: p.siteId, hardware: p.hardware, startMs: historyFromMs })
  const tariff: Tariff = defaultTariff(simSite.location.timezone)

  let sim: Awaited<ReturnType<typeof spawnSimulator>>
  try {
    sim = await spawnSimulator(siteFile, p.seed)
  } catch (cause) {
    throw new DemoSiteError(`${where}: cannot start its simulator (${siteFile}): ${(cause as Error).message}`, { cause })
  }
  let devices: OpenedDevices | null = null
  let runtime: SiteRuntime | null = null
  const stop = async () => {
    await runtime?.stop()
    await devices?.close()
    await sim.stop()
  }
  try {
    const site = simulatorSiteFile({ sim: simSite, ready: sim.ready, apiUrl: sim.apiUrl, control: { battery: { socMinPct: 10, socMaxPct: 95 } } })
    devices = await openSiteDevices(site)
    const drivers = devices.drivers
    const meter = drivers.find((d) => d.meter)?.meter
    const batteryDriver = drivers.find((d) => d.battery)
    const battery = batteryDriver?.battery
    if (!meter || !battery) throw new DemoSiteError(`${where}: ${siteFile}: expected a grid meter and a battery on Modbus; found ${drivers.map((d) => `${d.name} (${d.capabilities.join(', ')})`).join(', ')}`)
    if (!battery.maxChargeW || !battery.maxDischargeW || !battery.capacityWh) throw new DemoSiteError(`${where}: ${batteryDriver.name}: the battery does not report its ratings and capacity`)
    // The day before the market opens, as its meters saw it (battery power sampled every 5 simulated minutes).
    const history = await measureHistoryOnDevices({
      sampleS: 300,
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
    const clock = steppedSimulatorClock(sim, p.startMs)
    const market = createSiteMarketPort({ anchorMs: p.startMs, intervalMs: p.slotMs, maxBuyPowerW: p.market.maxBuyPowerW, maxSellPowerW: p.market.maxSellPowerW, tariff })
    const rt = createSiteRuntime({
      name: site.name,
      timeZone: simSite.location.timezone,
      drivers,
      clock,
      control: site.control!,
      tariff,
      slotMs: p.slotMs,
      // The coordinator asks for a plan at each interval's start, from the first uncleared interval on.
      planPolicy: { kind: 'manual' },
      planner: createForecastPlanner({
        forecaster: createSiteLoadForecaster({ timeZone: simSite.location.timezone }),
        modelSource: () => null,
        pvArray: pvArrayOf(site.control!),
        pv: siteRuntimeDefaults.pvForecast,
        horizonSlots,
        weather: weatherSourceOf(site.control!),
      }),
      market: market.port,
      history,
      staleAfterMs: 3 * cycleS * 1000,
      planMaxAgeMs: 2 * p.slotMs,
    })
    runtime = rt

    return {
      tariff,
      apiUrl: sim.apiUrl,
      nowMs: clock.now,
      history: () => rt.slotHistory.slots(),

      /** Plans from the current sim time over the horizon, with the market open from `marketFromMs`; the loop follows this plan from now on. */
      async replan(openFromMs: number): Promise<Plan> {
        market.openFrom(openFromMs)
        const socPct = (await battery.readBattery()).socPct
        if (socPct === null) throw new DemoSiteError(`${where}: ${batteryDriver.name} reports no SoC; cannot plan`)
        const plan = await rt.requestPlan(socPct)
        if (!plan) throw new DemoSiteError(`${where}: no plan could be made (see the log)`)
        return plan
      },

      /** Records this site's trades in a cleared slot (net sold, Wh) for the loop to deliver. */
      commit(slotStartMs: number, netSellWh: number) {
        market.commit(slotStartMs, netSellWh)
      },

      /** Runs the control loop every cycle while stepping the simulator's clock up to `toMs`. */
      async runTo(toMs: number): Promise<void> {
        const nowMs = clock.now()
        if ((toMs - nowMs) % (cycleS * 1000) !== 0 || toMs < nowMs) throw new DemoSiteError(`${where}: cannot step from ${new Date(nowMs).toISOString()} to ${new Date(toMs).toISOString()} in ${cycleS} s cycles`)
        await rt.runTo(toMs, cycleS)
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
