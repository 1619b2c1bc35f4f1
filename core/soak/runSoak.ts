import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse, stringify } from 'yaml'
import { siteFileSchema } from '../devices/site/siteFileSchema.ts'
import { spawnSimulator } from '../simulator/spawnSimulator.ts'
import { callSimulatorApi } from './callSimulatorApi.ts'
import { percentile } from './percentile.ts'
import { faultKinds, planFaults, type FaultKind, type PlannedFault, type SimFaultPatch, type SoakDevice } from './planFaults.ts'
import type { ServiceReply } from './parseServiceReply.ts'
import { SoakError } from './SoakError.ts'
import { spawnSoakService, type SoakService } from './spawnSoakService.ts'

const dayMs = 86_400_000
const demoSite = fileURLToPath(new URL('../../hardware-sims/sites/demo.yaml', import.meta.url))
// The controller's own limits, inside the simulated battery's (5..100 %): the simulator's
// truth is checked against these, as in issue 11 (SoC past the controller's limit).
const socMinPct = 10
const socMaxPct = 90
const maxExportW = 5000
// One 30 s cycle can move a 13.5 kWh battery 0.31 % at 5 kW; beyond this it is a violation.
const socTolerancePct = 0.5
const gridToleranceW = 100
const serviceStartTimeoutMs = 180_000
// Simulated time before a refused start is tried again (systemd's RestartSec, say).
const restartDelayMs = 120_000
const probeWaitMs = 1600
const tickTimeoutMs = 120_000
const round = (v: number) => Math.round(v * 100) / 100

export type SoakOptions = {
  days: number
  faults: number
  seed: number
  /** Control cycle in simulated seconds (default 30, like the backtest). */
  cycleS?: number
  /** Where the simulated clock starts (default 2013-01-14T13:00:00Z: local midnight in Melbourne, summer). */
  startIso?: string
  onProgress?: (message: string) => void
  /** Stops the run between two cycles (Ctrl-C): the processes are stopped and the promise rejects. */
  signal?: AbortSignal
}

type KindFigures = { injected: number; detected: number; undetected: number; detectP50S: number | null; detectP99S: number | null; recovered: number; notRecovered: number; recoverP50S: number | null; recoverP99S: number | null }

export type SoakFigures = {
  seed: number
  days: number
  cycleS: number
  start: string
  faultsRequested: number
  faultsInjected: { total: number; byKind: Record<FaultKind, number>; killsSkippedServiceDown: number }
  notApplicable: Record<string, string>
  /** Must be 0: battery setpoints outside the decision's envelope or the ratings, in the stored writes, the cycle reports and the simulator's own state. */
  setpointsOutsideEnvelope: { total: number; storedWrites: number; decisions: number; simulator: number; writesChecked: number }
  /** Must be 0: cycles where the simulated SoC was outside the controller's limits (± tolerance) while a controller setpoint drove it further out; `cyclesOutsideAtAll` counts every cycle outside (the battery's own fallback included). */
  socOutsideLimits: { cycles: number; cyclesOutsideAtAll: number; minPct: number; maxPct: number; limitsPct: [number, number]; tolerancePct: number; examples: { time: string; socPct: number; setpointW: number; serviceUp: boolean; activeFaults: string[] }[] }
  /** Cycles where the simulated grid exported beyond the site limit (physics may force it; not must-be-zero). */
  gridExportBeyondLimit: { cycles: number; whileAllFresh: number; maxExportW: number; limitW: number }
  /** Must be 0: the service process died without being killed by the soak. */
  crashes: number
  crashReasons: string[]
  cycleErrors: number
  cycleErrorReasons: string[]
  startsRefused: number
  startRefusalReasons: string[]
  serviceDownS: number
  detection: { detected: number; undetected: number; p50S: number | null; p99S: number | null }
  recovery: { recovered: number; notRecovered: number; p50S: number | null; p99S: number | null }
  byKind: Record<FaultKind, KindFigures>
  alarms: { raised: number; cleared: number; byKey: Record<string, { raised: number; cleared: number }>; activeAtEnd: string[] }
  /** Must be 0: rows the service acknowledged before a kill -9 that the store lacks after the restart. */
  rowsLost: number
  rowsChecked: number
  killsChecked: number
  intervalsSettledExactlyOnce: string
  /** Every fault of the schedule: what, where, when, and after how many simulated seconds it was detected and recovered (null: not). */
  faults: { id: number; kind: FaultKind; target: string; start: string; durationS: number; sim?: SimFaultPatch; kill?: PlannedFault['kill']; skipped: boolean; detectedAfterS: number | null; recoveredAfterS: number | null }[]
  wallTimeS: number
}

type FaultRecord = { fault: PlannedFault; injected: boolean; skipped: boolean; clearedAtMs: number | null; detectedAtMs: number | null; recoveredAtMs: number | null }

type SimDeviceState = { name: string; kind: string; socPct?: number; powerW?: number; setpointW?: number | null }

/**
 * The fault campaign: the site service (startSite, as `serve` composes it, in its own
 * process) against the simulator (another process) under a stepped, seeded clock, with a
 * seeded schedule of device, service and process faults; returns the figures.
 */
export async function runSoak(options: SoakOptions): Promise<SoakFigures> {
  const started = performance.now()
  const progress = options.onProgress ?? (() => {})
  const cycleS = options.cycleS ?? 30
  const cycleMs = cycleS * 1000
  const startMs = Date.parse(options.startIso ?? '2013-01-14T13:00:00Z')
  const endMs = startMs + Math.round(options.days * dayMs / cycleMs) * cycleMs
  if (!Number.isInteger(cycleS) || cycleS < 5 || cycleS > 55) throw new SoakError(`cycle of ${cycleS} s: expected whole seconds from 5 to 55 (inside the simulated devices' 60 s command timeout)`)
  const work = mkdtempSync(join(tmpdir(), 'gridmesh-soak-'))
  const dataDir = join(work, 'data')
  const simSite = parse(readFileSync(demoSite, 'utf8')) as { devices: { name: string; kind: SoakDevice['kind']; transport: Record<string, unknown>; maxChargeW?: number; maxDischargeW?: number; ratedW?: number }[] } & Record<string, unknown>
  const simSiteFile = join(work, 'sim-site.yaml')
  writeFileSync(simSiteFile, stringify({ ...simSite, clock: { start: new Date(startMs).toISOString(), speed: 0 }, api: { host: '127.0.0.1', port: 0 }, devices: simSite.devices.map((d) => ({ ...d, transport: { ...d.transport, port: 0 } })) }))
  const battery = simSite.devices.find((d) => d.kind === 'battery')!
  const maxChargeW = battery.maxChargeW ?? 0
  const maxDischargeW = battery.maxDischargeW ?? 0

  progress(`soak: seed ${options.seed}, ${options.days} day(s), ${options.faults} faults, ${cycleS} s cycles`)
  const sim = await spawnSimulator(simSiteFile, options.seed)
  let service: SoakService | null = null
  try {
    const devices: SoakDevice[] = sim.ready.map((r) => ({ name: r.device, kind: r.kind as SoakDevice['kind'] }))
    const site = siteFileSchema.parse({
      name: 'soak',
      timezone: 'Australia/Melbourne',
      devices: sim.ready.map((r) => ({ name: r.device, connection: { type: 'tcp', host: r.host ?? '127.0.0.1', port: r.port }, unitId: r.unitId, sunspecBase: r.sunspecBase, timeoutMs: 500 })),
      control: {
        location: { latitudeDeg: -37.81, longitudeDeg: 144.96 },
        pv: { tiltDeg: 25, azimuthDeg: 0, peakPowerKw: 8.8 },
        battery: { socMinPct, socMaxPct },
        grid: { maxImportW: null, maxExportW },
      },
    })
    const faults = planFaults({ seed: options.seed, count: options.faults, fromMs: startMs, toMs: endMs, cycleMs, devices })
    const records = faults.map((fault): FaultRecord => ({ fault, injected: false, skipped: false, clearedAtMs: null, detectedAtMs: null, recoveredAtMs: null }))
    const activeSim = new Map<string, FaultRecord[]>()
    const failing = { forecast: false, plan: false }

    const figures = {
      decisions: 0,
      simulator: 0,
      socCycles: 0,
      socOutsideAny: 0,
      socExamples: [] as SoakFigures['socOutsideLimits']['examples'],
      socMin: Infinity,
      socMax: -Infinity,
      gridCycles: 0,
      gridWhileFresh: 0,
      gridMaxExportW: 0,
      crashes: 0,
      crashReasons: [] as string[],
      cycleErrors: 0,
      cycleErrorReasons: [] as string[],
      startsRefused: 0,
      startRefusalReasons: [] as string[],
      serviceDownMs: 0,
      rowsLost: 0,
      rowsChecked: 0,
      killsChecked: 0,
      raised: new Map<string, number>(),
      cleared: new Map<string, number>(),
    }
    const activeFaults = (t: number) => records.filter((r) => r.injected && !r.skipped && r.fault.startMs <= t && (r.clearedAtMs === null || r.clearedAtMs > t)).map((r) => `${r.fault.id}:${r.fault.kind}:${r.fault.target}`)
    const note = (list: string[], reason: string) => {
      if (list.length < 5 && !list.includes(reason)) list.push(reason)
    }
    // Rows the running service acknowledged since it started (verified after a kill).
    let ledger: { timeMs: number; telemetry: number; writes: number }[] = []
    let unverified: typeof ledger | null = null
    let restartAtMs = startMs
    let lastFresh = new Map<string, boolean>()
    // A device the Modbus client skipped (it probes it in the background) says so in its error.
    let lastErrors = new Map<string, string | null>()

    const pushSimFaults = async (device: string) => {
      const patch: Required<SimFaultPatch> = { noResponse: false, exceptionCode: 0, refuseConnections: false, garbageFrames: 0, frozen: false, sentinelPoints: [], tripped: false, delayMs: 0 }
      for (const r of activeSim.get(device) ?? []) Object.assign(patch, r.fault.sim)
      await callSimulatorApi(sim.apiUrl, 'PUT', `/api/devices/${encodeURIComponent(device)}/faults`, { ...patch, exceptionCode: patch.exceptionCode || null })
    }

    const startService = async (nowMs: number): Promise<boolean> => {
      const spawnedAt = performance.now()
      const s = spawnSoakService()
      const timer = setTimeout(() => void s.kill(), serviceStartTimeoutMs)
      let reply: ServiceReply
      try {
        reply = await s.request({ op: 'start', site, dataDir, nowMs, staleAfterMs: 3 * cycleMs, refreshMs: cycleMs })
      } catch (error) {
        reply = { type: 'error', op: 'start', message: (error as Error).message }
      } finally {
        clearTimeout(timer)
      }
      if (process.env.SOAK_DEBUG) progress(`service start at ${new Date(nowMs).toISOString()}: ${reply.type} after ${Math.round(performance.now() - spawnedAt)} ms`)
      if (reply.type !== 'started') {
        await s.kill()
        figures.startsRefused++
        note(figures.startRefusalReasons, reply.type === 'error' ? reply.message.split('\n')[0]! : `unexpected reply '${reply.type}'`)
        if (nowMs === startMs) throw new SoakError(`the site service did not start: ${reply.type === 'error' ? reply.message : reply.type}`, { details: s.stderrTail() })
        return false
      }
      service = s
      lastFresh = new Map()
      if (unverified?.length) {
        const count = await s.request({ op: 'count', timesMs: unverified.map((r) => r.timeMs) })
        if (count.type !== 'count') throw new SoakError(`the restarted service answered '${count.type}' to a row count`)
        for (const [i, row] of count.rows.entries()) {
          const acked = unverified[i]!
          figures.rowsChecked += acked.telemetry + acked.writes
          figures.rowsLost += Math.max(0, acked.telemetry - row.telemetry) + Math.max(0, acked.writes - row.writes)
        }
        figures.killsChecked++
      }
      unverified = null
      for (const r of records) if (r.fault.kind === 'kill' && r.injected && r.clearedAtMs === null) r.clearedAtMs = nowMs
      return true
    }

    // The rows the dead service acknowledged are checked once it runs again.
    const dropService = () => {
      service = null
      unverified = ledger
      ledger = []
    }
    const kill = async () => {
      const s = service!
      const exit = await s.kill()
      if (!exit.killedBySoak) crashed(exit.signal ?? `code ${exit.code}`, s)
      dropService()
    }
    const crashed = (why: string, s: SoakService) => {
      figures.crashes++
      note(figures.crashReasons, `${why}: ${s.stderrTail().trim().split('\n').slice(-3).join(' | ')}`)
    }

    const onTick = (reply: Extract<ServiceReply, { type: 'tick' }>, t: number) => {
      ledger.push({ timeMs: reply.timeMs, ...reply.acked })
      ledger = ledger.filter((r) => r.timeMs > t - dayMs)
      for (const d of reply.decisions) {
        if (d.setpointW === null) continue
        if (d.setpointW < d.minW - 1e-6 || d.setpointW > d.maxW + 1e-6 || d.setpointW < -maxChargeW - 1e-6 || d.setpointW > maxDischargeW + 1e-6) figures.decisions++
      }
      for (const key of reply.alarms.raised) figures.raised.set(key, (figures.raised.get(key) ?? 0) + 1)
      for (const key of reply.alarms.cleared) figures.cleared.set(key, (figures.cleared.get(key) ?? 0) + 1)
      // Fresh: read in this very cycle (not merely inside the stale window).
      const fresh = new Map(reply.devices.map((d) => [d.name, !d.stale && d.error === null]))
      lastFresh = fresh
      lastErrors = new Map(reply.devices.map((d) => [d.name, d.error]))
      const batteryWritten = reply.writes.some((w) => w.device === battery.name && w.ok)
      for (const r of records) {
        if (!r.injected || r.skipped) continue
        const { fault } = r
        if (r.detectedAtMs === null && fault.kind !== 'kill' && (r.clearedAtMs === null || t <= r.clearedAtMs)) {
          const seen = fault.kind === 'forecast' || fault.kind === 'plan'
            ? reply.alarms.raised.some((k) => k.startsWith('plan') || k.startsWith('forecast'))
            : reply.devices.some((d) => d.name === fault.target && d.stale) || reply.alarms.raised.some((k) => k.includes(fault.target))
          if (seen) r.detectedAtMs = t
        }
        if (r.recoveredAtMs === null && r.clearedAtMs !== null && t >= r.clearedAtMs) {
          const back = fault.kind === 'forecast' || fault.kind === 'plan'
            ? reply.planCreatedAtMs !== null && reply.planCreatedAtMs >= r.clearedAtMs
            : fault.kind === 'kill'
              ? // Devices under a fault of their own are that fault's business.
                [...fresh].every(([name, ok]) => ok || activeSim.get(name)?.length) && (batteryWritten || !!activeSim.get(battery.name)?.length)
              : fresh.get(fault.target) === true && (fault.target !== battery.name || batteryWritten)
          if (back) r.recoveredAtMs = t
        }
      }
    }

    await startService(startMs)
    let nextProgressMs = startMs + dayMs / 4
    for (let t = startMs; t < endMs; t += cycleMs) {
      if (options.signal?.aborted) throw new SoakError(`interrupted at ${new Date(t).toISOString()}; no figures`)
      // 1. Faults that end now, then faults that start now.
      const touched = new Set<string>()
      for (const r of records) {
        if (!r.injected || r.skipped || r.clearedAtMs !== null || r.fault.kind === 'kill' || r.fault.endMs > t) continue
        r.clearedAtMs = t
        if (r.fault.sim) {
          activeSim.set(r.fault.target, (activeSim.get(r.fault.target) ?? []).filter((x) => x !== r))
          touched.add(r.fault.target)
        }
        if (r.fault.kind === 'forecast' || r.fault.kind === 'plan') failing[r.fault.kind] = false
      }
      let killInCycle: number | null = null
      for (const r of records) {
        if (r.fault.startMs !== t) continue
        const { fault } = r
        if (fault.kind === 'kill') {
          if (!service) {
            r.skipped = true
            continue
          }
          r.injected = true
          if (fault.kill?.during === 'cycle') {
            killInCycle = fault.kill.afterStoreCalls
            restartAtMs = Math.max(fault.endMs, t + cycleMs)
          } else {
            await kill()
            restartAtMs = fault.endMs
          }
          continue
        }
        r.injected = true
        if (fault.kind === 'forecast' || fault.kind === 'plan') failing[fault.kind] = true
        if (fault.sim) {
          activeSim.set(fault.target, [...(activeSim.get(fault.target) ?? []), r])
          touched.add(fault.target)
        }
      }
      for (const device of touched) await pushSimFaults(device)
      for (const r of records) if (r.fault.startMs === t && r.fault.kind === 'disconnect') await callSimulatorApi(sim.apiUrl, 'POST', `/api/devices/${encodeURIComponent(r.fault.target)}/disconnect`)

      // 2. The service: restarted when it is due, then one cycle.
      const cycleStarted = performance.now()
      // A refused start is tried again after a supervisor's restart delay, not every cycle.
      if (!service && t >= restartAtMs && !(await startService(t))) restartAtMs = t + restartDelayMs
      if (service) {
        const s: SoakService = service
        // The service's Modbus client probes a silent device on a real-time timer (1 s); a soak
        // cycle takes milliseconds, so while a device whose fault just cleared is not fresh yet,
        // real time passes at the cycle's time before it runs, as it would in a real one.
        const waitMs = records.some((r) => r.clearedAtMs !== null && r.fault.sim && r.recoveredAtMs === null && t - r.clearedAtMs < 3 * cycleMs && /skipped/.test(lastErrors.get(r.fault.target) ?? '')) ? probeWaitMs : 0
        const ticked = s.request({ op: 'tick', nowMs: t, failForecast: failing.forecast, failPlan: failing.plan, waitMs, killAfterStoreCalls: killInCycle })
        let reply: ServiceReply | null = null
        if (killInCycle !== null) {
          // The service stops dead at the seeded store call (it answers 'frozen') and is killed there.
          reply = await ticked.catch(() => null)
          const exit = await s.kill()
          if (!exit.killedBySoak) crashed(exit.signal ?? `code ${exit.code}`, s)
          if (reply?.type !== 'frozen') throw new SoakError(`a kill inside a cycle: the service answered '${reply?.type ?? 'nothing'}' instead of stopping at store call ${killInCycle}`, { details: s.stderrTail() })
        } else {
          let hung: NodeJS.Timeout | undefined
          try {
            // A cycle that never answers is a hung service: killed, and counted as a crash.
            reply = await Promise.race([ticked, new Promise<never>((_, reject) => (hung = setTimeout(() => reject(new SoakError('hung')), tickTimeoutMs)))])
          } catch (error) {
            if ((error as Error).message === 'hung') {
              await s.kill()
              figures.crashes++
              note(figures.crashReasons, `the service did not answer a cycle at ${new Date(t).toISOString()} within ${tickTimeoutMs / 1000} s: ${s.stderrTail().trim().split('\n').slice(-3).join(' | ')}`)
            }
            // A reply that is not one (the process lives on) is the cycle's error; a dead process is handled below.
            await new Promise((resolve) => setTimeout(resolve, 100))
            reply = s.hasExited() ? null : { type: 'error', op: 'tick', message: (error as Error).message }
          } finally {
            clearTimeout(hung)
          }
        }
        if (process.env.SOAK_DEBUG === '2' && reply?.type === 'tick') progress(`tick ${new Date(t).toISOString()}: ${reply.devices.map((d) => `${d.name}${d.stale ? ' STALE' : ''}${d.error ? ` (${d.error})` : ''}`).join(', ')}; writes ${reply.writes.map((w) => `${w.device}:${w.ok ? w.written : 'failed'}`).join(' ')}; active ${activeFaults(t).join(' ')}`)
        if (reply?.type === 'tick') onTick(reply, t)
        else if (reply?.type === 'error') {
          figures.cycleErrors++
          note(figures.cycleErrorReasons, reply.message.split('\n')[0]!)
        }
        if (killInCycle !== null) dropService()
        else if (reply === null) {
          const exit = await s.exited
          dropService()
          if (!exit.killedBySoak) crashed(exit.signal ?? `code ${exit.code}`, s)
          restartAtMs = t + cycleMs
        }
      }
      if (!service) figures.serviceDownMs += cycleMs
      if (process.env.SOAK_DEBUG && performance.now() - cycleStarted > 300) progress(`slow cycle ${new Date(t).toISOString()}: ${Math.round(performance.now() - cycleStarted)} ms; active: ${activeFaults(t).join(' ')}`)

      // 3. The physics runs a cycle; then the simulator's own truth.
      await sim.advance(cycleS)
      const state = await callSimulatorApi<{ powerW: { grid: number }; devices: SimDeviceState[] }>(sim.apiUrl, 'GET', '/api/state')
      const bat = state.devices.find((d) => d.name === battery.name)
      if (bat?.socPct !== undefined) {
        // Outside the window while the battery follows a controller setpoint that drives it further
        // out: discharging below the minimum or charging above the maximum. Holding it (or the
        // battery's own fallback while no setpoint is in force) is not the controller's doing.
        const setpointW = bat.setpointW ?? null
        const outward = setpointW !== null && ((bat.socPct < socMinPct - socTolerancePct && setpointW > 0) || (bat.socPct > socMaxPct + socTolerancePct && setpointW < 0))
        if (bat.socPct < socMinPct - socTolerancePct || bat.socPct > socMaxPct + socTolerancePct) figures.socOutsideAny++
        if (outward) {
          figures.socCycles++
          if (figures.socExamples.length < 5) figures.socExamples.push({ time: new Date(t + cycleMs).toISOString(), socPct: round(bat.socPct), setpointW: bat.setpointW!, serviceUp: service !== null, activeFaults: activeFaults(t) })
        }
        figures.socMin = Math.min(figures.socMin, bat.socPct)
        figures.socMax = Math.max(figures.socMax, bat.socPct)
      }
      if (bat?.powerW !== undefined && (bat.powerW > maxDischargeW + 1 || bat.powerW < -maxChargeW - 1)) figures.simulator++
      if (bat?.setpointW !== null && bat?.setpointW !== undefined && (bat.setpointW > maxDischargeW + 1 || bat.setpointW < -maxChargeW - 1)) figures.simulator++
      const exportW = -state.powerW.grid
      if (exportW > maxExportW + gridToleranceW) {
        figures.gridCycles++
        if (service && [...lastFresh.values()].every(Boolean)) figures.gridWhileFresh++
      }
      figures.gridMaxExportW = Math.max(figures.gridMaxExportW, exportW)
      if (t + cycleMs >= nextProgressMs) {
        progress(`soak: ${((t + cycleMs - startMs) / dayMs).toFixed(2)} of ${options.days} day(s), ${records.filter((r) => r.injected).length} faults injected, ${figures.crashes} crash(es), ${Math.round((performance.now() - started) / 1000)} s`)
        nextProgressMs += dayMs / 4
      }
    }

    // The end: every fault is long cleared; the service audits its own store.
    if (!service) await startService(endMs)
    if (!service) throw new SoakError('the site service did not start again for the final audit', { details: figures.startRefusalReasons.join('\n') })
    const audit = await (service as SoakService).request({ op: 'audit', fromMs: startMs, toMs: endMs + 1 })
    if (audit.type !== 'audit') throw new SoakError(`the service answered '${audit.type}' to the audit${audit.type === 'error' ? `: ${audit.message}` : ''}`)
    let storedWrites = 0
    let writesChecked = 0
    for (const w of audit.writes) {
      writesChecked++
      if (w.device === battery.name && (w.written > maxDischargeW + 1e-6 || w.written < -maxChargeW - 1e-6)) storedWrites++
      if (w.device !== battery.name && (w.written < 0 || w.written > 100)) storedWrites++
    }
    await (service as SoakService).request({ op: 'stop' }).catch(() => null)
    service = null

    const counted = records.filter((r) => r.injected && !r.skipped)
    const byKind = Object.fromEntries(faultKinds.map((kind) => [kind, kindFigures(counted.filter((r) => r.fault.kind === kind))])) as Record<FaultKind, KindFigures>
    const detections = counted.filter((r) => r.detectedAtMs !== null).map((r) => (r.detectedAtMs! - r.fault.startMs) / 1000)
    const seen = counted.filter(wasSeen)
    const recoveries = seen.filter((r) => r.recoveredAtMs !== null).map((r) => (r.recoveredAtMs! - r.clearedAtMs!) / 1000)
    const keys = new Set([...figures.raised.keys(), ...figures.cleared.keys()])
    return {
      seed: options.seed,
      days: options.days,
      cycleS,
      start: new Date(startMs).toISOString(),
      faultsRequested: options.faults,
      faultsInjected: { total: counted.length, byKind: Object.fromEntries(faultKinds.map((k) => [k, counted.filter((r) => r.fault.kind === k).length])) as Record<FaultKind, number>, killsSkippedServiceDown: records.filter((r) => r.skipped).length },
      notApplicable: {
        rpcOutage: 'not applicable: serve has no market yet (issue 15)',
        revertedTransactions: 'not applicable: serve has no market yet (issue 15)',
      },
      setpointsOutsideEnvelope: { total: storedWrites + figures.decisions + figures.simulator, storedWrites, decisions: figures.decisions, simulator: figures.simulator, writesChecked },
      socOutsideLimits: { cycles: figures.socCycles, cyclesOutsideAtAll: figures.socOutsideAny, minPct: round(figures.socMin), maxPct: round(figures.socMax), limitsPct: [socMinPct, socMaxPct], tolerancePct: socTolerancePct, examples: figures.socExamples },
      gridExportBeyondLimit: { cycles: figures.gridCycles, whileAllFresh: figures.gridWhileFresh, maxExportW: Math.round(figures.gridMaxExportW), limitW: maxExportW },
      crashes: figures.crashes,
      crashReasons: figures.crashReasons,
      cycleErrors: figures.cycleErrors,
      cycleErrorReasons: figures.cycleErrorReasons,
      startsRefused: figures.startsRefused,
      startRefusalReasons: figures.startRefusalReasons,
      serviceDownS: figures.serviceDownMs / 1000,
      detection: { detected: detections.length, undetected: counted.filter((r) => r.fault.kind !== 'kill' && r.detectedAtMs === null).length, p50S: percentile(detections, 50), p99S: percentile(detections, 99) },
      recovery: { recovered: recoveries.length, notRecovered: seen.length - recoveries.length, p50S: percentile(recoveries, 50), p99S: percentile(recoveries, 99) },
      byKind,
      alarms: {
        raised: [...figures.raised.values()].reduce((a, b) => a + b, 0),
        cleared: [...figures.cleared.values()].reduce((a, b) => a + b, 0),
        byKey: Object.fromEntries([...keys].sort().map((k) => [k, { raised: figures.raised.get(k) ?? 0, cleared: figures.cleared.get(k) ?? 0 }])),
        activeAtEnd: audit.activeAlarms,
      },
      rowsLost: figures.rowsLost,
      rowsChecked: figures.rowsChecked,
      killsChecked: figures.killsChecked,
      intervalsSettledExactlyOnce: 'n/a: serve has no market yet (issue 15)',
      faults: records.map((r) => ({
        id: r.fault.id,
        kind: r.fault.kind,
        target: r.fault.target,
        start: new Date(r.fault.startMs).toISOString(),
        durationS: (r.fault.endMs - r.fault.startMs) / 1000,
        ...(r.fault.sim && { sim: r.fault.sim }),
        ...(r.fault.kill && { kill: r.fault.kill }),
        skipped: r.skipped,
        detectedAfterS: r.detectedAtMs === null ? null : (r.detectedAtMs - r.fault.startMs) / 1000,
        recoveredAfterS: r.recoveredAtMs === null ? null : (r.recoveredAtMs - r.clearedAtMs!) / 1000,
      })),
      wallTimeS: round((performance.now() - started) / 1000),
    }
  } finally {
    await (service as SoakService | null)?.kill()
    await sim.stop()
    rmSync(work, { recursive: true, force: true })
  }
}

// Recovery is timed for faults the service saw (and kills): an unseen fault needs none.
const wasSeen = (r: FaultRecord) => r.detectedAtMs !== null || r.fault.kind === 'kill'

function kindFigures(records: FaultRecord[]): KindFigures {
  const detect = records.filter((r) => r.detectedAtMs !== null).map((r) => (r.detectedAtMs! - r.fault.startMs) / 1000)
  const seen = records.filter(wasSeen)
  const recover = seen.filter((r) => r.recoveredAtMs !== null).map((r) => (r.recoveredAtMs! - r.clearedAtMs!) / 1000)
  const detectable = records.filter((r) => r.fault.kind !== 'kill')
  return {
    injected: records.length,
    detected: detect.length,
    undetected: detectable.length - detect.length,
    detectP50S: percentile(detect, 50),
    detectP99S: percentile(detect, 99),
    recovered: recover.length,
    notRecovered: seen.length - recover.length,
    recoverP50S: percentile(recover, 50),
    recoverP99S: percentile(recover, 99),
  }
}
