import type { DeviceDriver, WriteResult } from '../devices/capabilities.ts'
import type { Plan } from '../schedule/planSchedule.ts'
import { createTelemetryWatch, type WatchedReading } from './createTelemetryWatch.ts'
import { decideSetpoints, type BatteryDecision, type BatteryLimits, type MarketCommitment, type PlanTarget, type PvLimitDecision, type PvLimits, type PvSnapshot, type SiteLimits, type Snapshot } from './decideSetpoints.ts'

/** What the loop needs of the store (core/store implements it). */
export type ControlStore = {
  appendTelemetry(samples: readonly { timeMs: number; device: string; point: string; value: number }[]): void
  /** Rolls raw telemetry into the 1 min / 15 min tiers and prunes; the loop calls it once a minute. */
  downsample(nowMs: number): void
  recordWrite(w: { timeMs: number; device: string; point: string; requested: number; written: number; readBack: number | null; verified: boolean; clamped: boolean; reason: string }): void
  raiseAlarm(a: { key: string; device: string | null; severity: 'info' | 'warning' | 'critical'; message: string; timeMs: number }): unknown
  clearAlarm(key: string, timeMs: number): unknown
  /** Keys of the alarms still active in the store (a previous run raised them), so this loop clears them when their condition is gone. */
  activeAlarmKeys?(): readonly string[]
}

export type ControlDevice = {
  name: string
  driver: DeviceDriver
  /** Not heard from for this long: stale (default 10 s). */
  staleAfterMs?: number
  /** Re-write an unchanged setpoint this often, well inside the device's command timeout (default 20 s). */
  refreshMs?: number
  /**
   * The timeout a PV inverter is told to revert to full power after when its cap is not
   * re-written (SunSpec 123 WMaxLimPct_RvrtTms), so it runs free if GridMesh dies
   * (default 3 x refreshMs; whole seconds, at most 65535 s; must exceed refreshMs).
   */
  pvRevertMs?: number
}

export type ControlLoopOptions = {
  devices: ControlDevice[]
  /**
   * Limits per battery; a function is asked every cycle (a device down at start joins later,
   * core/devices/startDeviceDriver.ts). A battery without limits is not commanded.
   */
  batteryLimits: Record<string, BatteryLimits> | (() => Record<string, BatteryLimits>)
  /** Grid limits; a function is asked every cycle (limits that change at run time). */
  site: SiteLimits | (() => SiteLimits)
  /** PV ratings by device name; default each driver's own ratedW (an unrated inverter is never capped). */
  pvLimits?: Record<string, PvLimits>
  now: () => number
  plan: () => Plan | null
  /**
   * The operator's override of the plan, asked every cycle (core/control/createOperatingMode.ts):
   * a target replaces the plan's slot (manual), a null target is self-consumption on purpose
   * (no plan:none warning); undefined follows the plan.
   */
  planOverride?: (nowMs: number) => { target: PlanTarget; reason: string } | undefined
  /** A plan created longer ago than this is stale: self-consumption instead (default 2 h). */
  planMaxAgeMs?: number
  /**
   * How long after the first cycle (site clock) a missing plan is expected, not a fault: the
   * first plan is being made beside the cycle, so no plan:none warning until then (default 0).
   */
  planStartGraceMs?: number
  market?: () => MarketCommitment
  store?: ControlStore
  /** Setpoint changes smaller than this are not written until the refresh is due (default 50 W). */
  deadbandW?: number
  log?: (message: string) => void
}

export type DeviceState = { name: string; stale: boolean; lastOkMs: number | null; error: string | null }

/** One cycle, as published: immutable once returned. */
export type CycleReport = {
  timeMs: number
  durationMs: number
  snapshot: Snapshot
  devices: DeviceState[]
  decisions: BatteryDecision[]
  /** A cap per PV inverter (none without PV inverters). */
  pvDecisions: PvLimitDecision[]
  writes: { device: string; result: WriteResult | null; error: string | null }[]
  planSlotStartMs: number | null
  /** The cleared market interval in force: the site's net sale as power (< 0 bought; absent when the port does not say), what the plan does not carry, and whether the loop delivers it (not under an operator's override). */
  market?: { committedW: number | null; extraExportW: number; delivered: boolean } | null
  alarms: { raised: string[]; cleared: string[] }
}

/** A PV cap lowered by more than this is written at once (about the 0.1 % resolution of SunSpec 123 on a 10 kW inverter). */
const pvLowerStepW = 10

/** The current slot of a plan, or null when there is none or the plan is stale. */
export function planTargetAt(plan: Plan | null, nowMs: number, maxAgeMs: number): PlanTarget {
  if (!plan || nowMs - plan.createdAtMs > maxAgeMs) return null
  const slot = plan.slots.find((s) => s.startMs <= nowMs && nowMs < s.startMs + plan.slotDurationMs)
  return slot
    ? { batteryPowerW: slot.batteryPowerW, gridPowerW: slot.gridPowerW, slotStartMs: slot.startMs, pvPowerW: slot.pvPowerW, pvCurtailedW: slot.pvCurtailedW, exportPriceEurPerKWh: slot.exportPriceEurPerKWh }
    : null
}

/**
 * The control loop, the only long-lived mutable state in core: each tick freezes a
 * snapshot of all readings, decides (pure), writes setpoints, then publishes. A device
 * that fails is marked stale and alarmed once; the loop keeps running.
 */
export function createControlLoop(options: ControlLoopOptions) {
  const log = options.log ?? (() => {})
  const deadbandW = options.deadbandW ?? 50
  const planMaxAgeMs = options.planMaxAgeMs ?? 2 * 3_600_000
  // stale: no valid reading within the timeout (unreachable, failing), or readings not trusted
  // (frozen: the device answers, but its values stopped following the physics).
  const state = new Map<string, { lastOkMs: number | null; stale: boolean; unreachable: boolean; frozen: string | null; drift: string | null; error: string | null; power: number | null; soc: number | null; extra: Record<string, number | null> }>()
  // Made at a device's first reading: a device down at start has its capabilities only then.
  const watches = new Map<string, ReturnType<typeof createTelemetryWatch>>()
  const watchOf = (d: ControlDevice) => {
    let w = watches.get(d.name)
    if (!w) watches.set(d.name, (w = createTelemetryWatch({ name: d.name, ...(d.driver.battery && { battery: d.driver.battery }) })))
    return w
  }
  const lastWrite = new Map<string, { setpointW: number; atMs: number }>()
  // The PV caps this loop wrote (null: released). Kept while a device is stale, so its cap is
  // re-written or released when it is back; a cap from before this loop is never released by it.
  const lastPvWrite = new Map<string, { limitW: number | null; atMs: number }>()
  // Asked every cycle: a device down at start shows its capabilities once it answers.
  const pvDevicesNow = () => options.devices.filter((d) => d.driver.pv && !d.driver.battery)
  const pvRevertS = new Map<string, number>()
  for (const d of options.devices) {
    const refreshMs = d.refreshMs ?? 20_000
    const revertS = Math.min(65_535, Math.ceil((d.pvRevertMs ?? 3 * refreshMs) / 1000))
    if (revertS * 1000 <= refreshMs) throw new RangeError(`${d.name}: pvRevertMs must exceed refreshMs (${refreshMs} ms) so a live loop re-writes the cap before it reverts; got ${revertS * 1000} ms`)
    pvRevertS.set(d.name, revertS)
  }
  const siteLimits = () => (typeof options.site === 'function' ? options.site() : options.site)
  const batteryLimitsNow = () => (typeof options.batteryLimits === 'function' ? options.batteryLimits() : options.batteryLimits)
  // Alarms a killed run left active are this loop's to clear once their condition is gone; without
  // them here, stale:<device> of a service that died stayed active after the restart for good.
  const activeAlarms = new Set<string>(options.store?.activeAlarmKeys?.() ?? [])
  let lastTickMs: number | null = null
  let firstTickMs: number | null = null
  let lastDownsampleMs: number | null = null
  let latest: CycleReport | null = null
  let timer: NodeJS.Timeout | null = null
  let running: Promise<void> | null = null

  for (const d of options.devices) state.set(d.name, { lastOkMs: null, stale: true, unreachable: true, frozen: null, drift: null, error: 'not read yet', power: null, soc: null, extra: {} })

  const raise = (key: string, device: string | null, severity: 'info' | 'warning' | 'critical', message: string, now: number, raised: string[]) => {
    if (activeAlarms.has(key)) return
    activeAlarms.add(key)
    raised.push(key)
    log(`alarm ${severity}: ${message}`)
    options.store?.raiseAlarm({ key, device, severity, message, timeMs: now })
  }
  const clear = (key: string, now: number, cleared: string[]) => {
    if (!activeAlarms.delete(key)) return
    cleared.push(key)
    log(`alarm cleared: ${key}`)
    options.store?.clearAlarm(key, now)
  }

  /** Reads one device: what its watch needs, or null when the read failed. */
  async function readDevice(device: ControlDevice, now: number): Promise<WatchedReading | null> {
    const s = state.get(device.name)!
    let watched: WatchedReading | null = null
    const d = device.driver
    try {
      if (d.pending) throw new Error(d.pending)
      const extra: Record<string, number | null> = {}
      let power: number | null = null
      let soc: number | null = null
      let pvFault = false
      watched = { timeMs: now, powerW: null }
      if (d.meter) {
        const m = await d.meter.readMeter()
        power = m.powerW
        Object.assign(extra, { importWh: m.importWh, exportWh: m.exportWh, frequencyHz: m.frequencyHz })
        Object.assign(watched, { importWh: m.importWh, exportWh: m.exportWh, energyStepWh: m.energyStepWh ?? null })
      }
      if (d.pv) {
        const p = await d.pv.readPv()
        pvFault = p.fault
        power = p.powerW
        Object.assign(extra, { energyWh: p.energyWh, limitPct: p.limitPct, availableW: p.availableW ?? null })
        Object.assign(watched, { energyWh: p.energyWh, energyStepWh: p.energyStepWh ?? null })
      }
      if (d.battery) {
        const b = await d.battery.readBattery()
        power = b.powerW
        soc = b.socPct
        if (b.fault) throw new Error('the device reports FAULT')
        // A battery whose SoC is not known cannot be kept inside its window: never commanded on it.
        if (b.socPct === null || !Number.isFinite(b.socPct)) throw new Error('it reports no state of charge (not implemented or NaN)')
        Object.assign(watched, { socPct: b.socPct, socStepPct: b.socStepPct ?? null, commandW: lastWrite.get(device.name)?.setpointW ?? null })
      }
      if (power === null) throw new Error('it reports no power (not implemented)')
      watched.powerW = power
      // A tripped inverter converts nothing and takes no cap: it goes stale like a silent one, but
      // its power (0 now) still goes to the meter's watch, which must see that drop.
      if (pvFault) s.error = 'the device reports FAULT'
      else Object.assign(s, { lastOkMs: now, error: null, power, soc, extra })
    } catch (error) {
      s.error = (error as Error).message
      watched = null
    }
    s.unreachable = s.lastOkMs === null || now - s.lastOkMs > (device.staleAfterMs ?? 10_000)
    return watched
  }

  async function tick(): Promise<CycleReport> {
    const started = performance.now()
    const now = options.now()
    const raised: string[] = []
    const cleared: string[] = []
    // 1. Freeze a snapshot: every device read once, concurrently (each connection queues its own).
    const readings = await Promise.all(options.devices.map((d) => readDevice(d, now)))
    // Then each device's values checked for freezing. A meter at the connection point must move
    // when the batteries and PV inverters read this cycle move (the load would have to cancel
    // them to the watt): their sum goes to the meter's watch.
    const movers = options.devices.flatMap((d, i) => (!d.driver.meter && (d.driver.battery || d.driver.pv) ? [readings[i]] : []))
    const moversW = movers.every((r) => r) ? movers.reduce((sum, r) => sum + (r!.powerW ?? 0), 0) : null
    for (const [i, d] of options.devices.entries()) {
      const s = state.get(d.name)!
      const reading = readings[i]
      if (reading) {
        const verdict = watchOf(d).observe({ ...reading, ...(d.driver.meter && { othersW: moversW }) })
        Object.assign(s, { error: verdict.frozen ? `frozen: ${verdict.frozen}` : s.error, frozen: verdict.frozen, drift: verdict.drift })
      }
      s.stale = s.unreachable || s.frozen !== null
    }
    for (const d of options.devices) {
      const s = state.get(d.name)!
      if (s.unreachable) raise(`stale:${d.name}`, d.name, 'warning', `${d.name}: no valid reading for ${s.lastOkMs === null ? 'ever' : `${Math.round((now - s.lastOkMs) / 1000)} s`} (${s.error}); not commanded`, now, raised)
      else clear(`stale:${d.name}`, now, cleared)
      // Frozen readings are worse than none: they look valid. A battery is still reachable and is held at 0 W.
      if (s.frozen) raise(`frozen:${d.name}`, d.name, 'critical', `${d.name}: ${s.frozen}; its readings are not trusted: ${d.driver.battery ? 'held at 0 W' : 'not used'} until they move again`, now, raised)
      else clear(`frozen:${d.name}`, now, cleared)
      if (s.drift && !s.stale) raise(`soc-drift:${d.name}`, d.name, 'warning', `${d.name}: ${s.drift}`, now, raised)
      else if (!s.drift) clear(`soc-drift:${d.name}`, now, cleared)
    }
    // A device not started yet may be a meter or an inverter: any site total could miss it.
    const pending = options.devices.some((d) => d.driver.pending)
    const sum = (kind: 'meter' | 'pv') => {
      const ds = options.devices.filter((d) => d.driver[kind])
      if (pending || !ds.length || ds.some((d) => state.get(d.name)!.stale)) return null
      return ds.reduce((acc, d) => acc + (state.get(d.name)!.power ?? 0), 0)
    }
    const batteries = options.devices.filter((d) => d.driver.battery)
    const pvDevices = pvDevicesNow()
    const limits = batteryLimitsNow()
    for (const d of batteries) {
      if (!limits[d.name]) raise(`limits:${d.name}`, d.name, 'warning', `${d.name}: a battery without limits (ratings and SoC window); not commanded`, now, raised)
      else clear(`limits:${d.name}`, now, cleared)
    }
    const snapshot: Snapshot = {
      timeMs: now,
      gridW: sum('meter'),
      pvW: sum('pv'),
      batteries: batteries.map((d) => {
        const s = state.get(d.name)!
        const stale = s.stale || !limits[d.name]
        return { name: d.name, powerW: stale ? null : s.power, socPct: stale ? null : s.soc, stale, untrusted: s.unreachable || !limits[d.name] ? null : s.frozen }
      }),
      pvInverters: pvDevices.map((d): PvSnapshot => {
        const s = state.get(d.name)!
        return { name: d.name, powerW: s.stale ? null : s.power, limitPct: s.stale ? null : (s.extra.limitPct ?? null), availableW: s.stale ? null : (s.extra.availableW ?? null), stale: s.stale }
      }),
    }
    // 2. Decide.
    const override = options.planOverride?.(now)
    const plan = override ? override.target : planTargetAt(options.plan(), now, planMaxAgeMs)
    firstTickMs ??= now
    const planExpected = now - firstTickMs >= (options.planStartGraceMs ?? 0)
    if (batteries.length && !plan && !override && planExpected) raise('plan:none', null, 'warning', 'no current plan: batteries run self-consumption', now, raised)
    else clear('plan:none', now, cleared)
    const dtS = lastTickMs === null ? 1 : Math.max(0, (now - lastTickMs) / 1000)
    lastTickMs = now
    const previousW = Object.fromEntries([...lastWrite].map(([k, v]) => [k, v.setpointW]))
    const pvLimits = Object.fromEntries(pvDevices.map((d) => [d.name, options.pvLimits?.[d.name] ?? { ratedW: d.driver.pv!.ratedW }]))
    const previousPvLimitW = Object.fromEntries([...lastPvWrite].map(([k, v]) => [k, v.limitW]))
    // The operator's override (manual, self-consumption) is what the operator asked for: a market
    // commitment does not move it; what is not delivered settles as the contract's shortfall.
    const commitment = options.market?.() ?? null
    const { batteries: decisions, pvInverters: pvDecisions } = decideSetpoints({ snapshot, limits, site: siteLimits(), plan, market: override ? null : commitment, previousW, dtS, pvLimits, previousPvLimitW })
    if (override && commitment && commitment.extraExportW !== 0) {
      for (const d of decisions) d.reasons.push(`market: ${Math.round(commitment.extraExportW)} W committed, not delivered (${override.reason})`)
    }
    // 3. Act: write what changed, and refresh what did not before the device's timeout.
    const writes: CycleReport['writes'] = []
    for (const decision of decisions) {
      const device = batteries.find((d) => d.name === decision.name)!
      if (decision.setpointW === null) {
        lastWrite.delete(decision.name)
        continue
      }
      const last = lastWrite.get(decision.name)
      const due = !last || Math.abs(last.setpointW - decision.setpointW) > deadbandW || now - last.atMs >= (device.refreshMs ?? 20_000)
      if (!due) continue
      try {
        const result = await device.driver.battery!.setPowerW(decision.setpointW)
        lastWrite.set(decision.name, { setpointW: result.written, atMs: now })
        writes.push({ device: decision.name, result, error: null })
        options.store?.recordWrite({ timeMs: now, device: decision.name, point: result.point, requested: result.requested, written: result.written, readBack: result.readBack, verified: result.verified, clamped: result.clamped, reason: `${decision.mode}${decision.reasons.length ? `: ${decision.reasons.join('; ')}` : ''}` })
        if (result.verified) clear(`write:${decision.name}`, now, cleared)
        else raise(`write:${decision.name}`, decision.name, 'critical', `${decision.name}: wrote ${result.written} W to ${result.point}, read back ${result.readBack}`, now, raised)
      } catch (error) {
        writes.push({ device: decision.name, result: null, error: (error as Error).message })
        raise(`write:${decision.name}`, decision.name, 'critical', `${decision.name}: setpoint write failed: ${(error as Error).message}`, now, raised)
      }
    }
    // PV caps: lowered at once (the export limit is hard), raised past the deadband or when
    // the refresh is due; each write re-arms the inverter's own revert timer.
    for (const decision of pvDecisions) {
      const device = pvDevices.find((d) => d.name === decision.name)!
      const last = lastPvWrite.get(decision.name)
      if (decision.mode === 'not-commanded') {
        if (last) last.atMs = Number.NEGATIVE_INFINITY // re-write once it is back: it may have reverted meanwhile
        continue
      }
      const reason = `${decision.mode}${decision.reasons.length ? `: ${decision.reasons.join('; ')}` : ''}`
      let write: () => Promise<WriteResult>
      let limitW: number | null
      if (decision.limitW === null) {
        if (!last || last.limitW === null) continue // nothing of ours to release
        write = () => device.driver.pv!.clearPowerLimit()
        limitW = null
      } else {
        const ratedW = decision.ratedW!
        const due = !last || last.limitW === null || decision.limitW < last.limitW - pvLowerStepW || decision.limitW > last.limitW + deadbandW || now - last.atMs >= (device.refreshMs ?? 20_000)
        if (!due) continue
        const pct = Math.floor((decision.limitW / ratedW) * 100 * 100) / 100
        write = () => device.driver.pv!.setPowerLimitPct(pct, { revertS: pvRevertS.get(decision.name)! })
        limitW = decision.limitW
      }
      try {
        const result = await write()
        lastPvWrite.set(decision.name, { limitW: limitW === null ? null : Math.min(limitW, (result.written / 100) * decision.ratedW!), atMs: now })
        writes.push({ device: decision.name, result, error: null })
        log(`${decision.name}: ${limitW === null ? 'PV cap released' : `PV capped at ${limitW} W (${result.written} %)`}; ${reason}`)
        options.store?.recordWrite({ timeMs: now, device: decision.name, point: result.point, requested: result.requested, written: result.written, readBack: result.readBack, verified: result.verified, clamped: result.clamped, reason })
        if (result.verified) clear(`write:${decision.name}`, now, cleared)
        else raise(`write:${decision.name}`, decision.name, 'critical', `${decision.name}: wrote ${result.written} to ${result.point}, read back ${result.readBack}`, now, raised)
      } catch (error) {
        writes.push({ device: decision.name, result: null, error: (error as Error).message })
        raise(`write:${decision.name}`, decision.name, 'critical', `${decision.name}: PV ${limitW === null ? 'release' : 'cap'} write failed: ${(error as Error).message}`, now, raised)
      }
    }
    // 4. Publish.
    const samples: { timeMs: number; device: string; point: string; value: number }[] = []
    for (const d of options.devices) {
      const s = state.get(d.name)!
      if (s.stale) continue
      if (s.power !== null && Number.isFinite(s.power)) samples.push({ timeMs: now, device: d.name, point: 'powerW', value: s.power })
      if (s.soc !== null && Number.isFinite(s.soc)) samples.push({ timeMs: now, device: d.name, point: 'socPct', value: s.soc })
      for (const [point, value] of Object.entries(s.extra)) if (value !== null && Number.isFinite(value)) samples.push({ timeMs: now, device: d.name, point, value })
    }
    for (const decision of decisions) if (decision.setpointW !== null) samples.push({ timeMs: now, device: decision.name, point: 'setpointW', value: decision.setpointW })
    for (const decision of pvDecisions) if (decision.limitW !== null) samples.push({ timeMs: now, device: decision.name, point: 'limitW', value: decision.limitW })
    options.store?.appendTelemetry(samples)
    if (options.store && Math.floor(now / 60_000) !== Math.floor((lastDownsampleMs ?? 0) / 60_000)) {
      options.store.downsample(now)
      lastDownsampleMs = now
    }
    latest = Object.freeze({
      timeMs: now,
      durationMs: performance.now() - started,
      snapshot,
      devices: options.devices.map((d) => {
        const s = state.get(d.name)!
        return { name: d.name, stale: s.stale, lastOkMs: s.lastOkMs, error: s.error }
      }),
      decisions,
      pvDecisions,
      writes,
      planSlotStartMs: plan?.slotStartMs ?? null,
      market: commitment ? { committedW: commitment.committedW ?? null, extraExportW: commitment.extraExportW, delivered: !override } : null,
      alarms: { raised, cleared },
    })
    return latest
  }

  return {
    /** Runs one cycle (cycles never overlap: a tick during a tick waits for it). */
    tick(): Promise<CycleReport> {
      const next = (running ?? Promise.resolve()).then(() => tick())
      const settled: Promise<void> = next.then(
        () => {
          if (running === settled) running = null
        },
        () => {
          if (running === settled) running = null
        },
      )
      running = settled
      return next
    },
    latest: () => latest,
    activeAlarms: () => [...activeAlarms],
    /** Runs the loop on a real timer (default 1 s); errors are logged, the loop keeps going. */
    start(periodMs = 1000) {
      if (timer) return
      timer = setInterval(() => {
        if (running) return // a slow cycle skips the next tick rather than piling up
        this.tick().catch((error: unknown) => log(`control cycle failed: ${(error as Error).message}`))
      }, periodMs)
    },
    stop() {
      if (timer) clearInterval(timer)
      timer = null
    },
  }
}
