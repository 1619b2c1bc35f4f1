// The site service of a soak, as its own process so the coordinator can kill -9 it: the
// same startSite that `gridmesh serve` runs, on the soak's data folder, driven over JSON
// lines on stdin/stdout instead of a timer. Its clock is the soak's simulated clock, and so
// is Date.now in this process: every time-based decision of the service (staleness, Modbus
// backoff and reconnect, retention) runs in simulated time, while I/O timeouts stay real.
//
// usage: node bin/run-ts.js core/soak/soakServiceMain.ts   (then JSON lines, see parseServiceRequest)
import { createInterface } from 'node:readline'
import { startSite, type RunningSite } from '../api/startSite.ts'
import { siteFileSchema } from '../devices/site/siteFileSchema.ts'
import { BaseError } from '../errors/BaseError.ts'
import { parseServiceRequest, type ServiceRequest } from './parseServiceRequest.ts'
import type { ServiceReply } from './parseServiceReply.ts'
import { SoakError } from './SoakError.ts'

let simulatedMs = 0
Date.now = () => simulatedMs

const failing = { forecast: false, plan: false }
// A kill at a seeded point inside a cycle: after the n-th store call the process stops
// dead (it says so first, synchronously: stdout is a pipe) and waits for the coordinator's
// kill -9. The rows of the calls before it are committed but never acknowledged.
const freezeAt = { storeCalls: null as number | null, count: 0 }
function freeze(): never {
  process.stdout.write(`${JSON.stringify({ type: 'frozen', storeCalls: freezeAt.count } satisfies ServiceReply)}\n`)
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)
  throw new SoakError('unreachable: a frozen service is killed')
}
const storeCalls = ['appendTelemetry', 'recordWrite', 'raiseAlarm', 'clearAlarm', 'savePlan', 'saveForecast', 'downsample'] as const
function countStoreCalls(store: RunningSite['store']) {
  const writable = store as unknown as Record<string, (...args: unknown[]) => unknown>
  for (const name of storeCalls) {
    const original = writable[name]!.bind(store)
    writable[name] = (...args: unknown[]) => {
      const result = original(...args)
      freezeAt.count++
      if (freezeAt.storeCalls !== null && freezeAt.count >= freezeAt.storeCalls) freeze()
      return result
    }
  }
}
let site: RunningSite | null = null
const send = (reply: ServiceReply) => process.stdout.write(`${JSON.stringify(reply)}\n`)
const messageOf = (error: unknown) => (error as BaseError).shortMessage ?? (error as Error).message

async function handle(request: ServiceRequest): Promise<ServiceReply> {
  if (request.op === 'start') {
    simulatedMs = request.nowMs
    site = await startSite({
      site: siteFileSchema.parse(request.site),
      dataDir: request.dataDir,
      now: () => simulatedMs,
      port: 0,
      staleAfterMs: request.staleAfterMs,
      refreshMs: request.refreshMs,
      log: (m) => process.stderr.write(`${new Date(simulatedMs).toISOString()} service: ${m}\n`),
      faultSeam: {
        beforeForecast() {
          if (failing.forecast) throw new SoakError('injected fault: the load forecast fails')
        },
        beforePlan() {
          if (failing.plan) throw new SoakError('injected fault: the planner fails')
        },
      },
    })
    countStoreCalls(site.store)
    return { type: 'started', pid: process.pid }
  }
  if (!site) throw new SoakError(`'${request.op}' before 'start'`)
  if (request.op === 'tick') {
    simulatedMs = request.nowMs
    failing.forecast = request.failForecast
    failing.plan = request.failPlan
    // The clock moves first: real-time timers (the Modbus client's probes) then run at the new time.
    if (request.waitMs > 0) await new Promise((resolve) => setTimeout(resolve, request.waitMs))
    freezeAt.count = 0
    freezeAt.storeCalls = request.killAfterStoreCalls
    const report = await site.controller.tick()
    // The plan is solved beside the cycle; the simulated clock waits for it, as a stepped runtime does.
    await site.controller.planning()
    // Fewer store calls than the kill point: stop after the cycle, before its acknowledgement.
    if (freezeAt.storeCalls !== null) freeze()
    const t = report.timeMs
    // What this cycle committed, read back through the store: the rows it acknowledges.
    const acked = { telemetry: site.store.queryTelemetry({ fromMs: t, toMs: t + 1, tier: 'raw' }).length, writes: site.store.listWrites({ fromMs: t, toMs: t + 1 }).length }
    return {
      type: 'tick',
      timeMs: t,
      devices: report.devices.map((d) => ({ name: d.name, stale: d.stale, error: d.error })),
      decisions: report.decisions.map((d) => ({ name: d.name, setpointW: d.setpointW, minW: d.envelope.minW, maxW: d.envelope.maxW, mode: d.mode })),
      writes: report.writes.map((w) => ({ device: w.device, ok: w.result !== null, written: w.result?.written ?? null })),
      alarms: report.alarms,
      planCreatedAtMs: site.controller.plan()?.createdAtMs ?? null,
      acked,
    }
  }
  if (request.op === 'count') {
    const s = site.store
    return { type: 'count', rows: request.timesMs.map((t) => ({ timeMs: t, telemetry: s.queryTelemetry({ fromMs: t, toMs: t + 1, tier: 'raw' }).length, writes: s.listWrites({ fromMs: t, toMs: t + 1 }).length })) }
  }
  if (request.op === 'audit') {
    const writes = site.store.listWrites({ fromMs: request.fromMs, toMs: request.toMs }).map((w) => ({ timeMs: w.timeMs, device: w.device, point: w.point, written: w.written }))
    const active = site.store.listAlarms({ state: 'active' }).map((a) => a.key)
    return { type: 'audit', writes, activeAlarms: active, alarmsInStore: site.store.listAlarms().length }
  }
  await site.stop()
  site = null
  return { type: 'stopped' }
}

// One request at a time, in order: the coordinator waits for each reply anyway.
let queue: Promise<void> = Promise.resolve()
createInterface({ input: process.stdin }).on('line', (line) => {
  queue = queue.then(async () => {
    let request: ServiceRequest
    try {
      request = parseServiceRequest(line)
    } catch (error) {
      send({ type: 'error', op: null, message: messageOf(error) })
      return
    }
    try {
      const reply = await handle(request)
      send(reply)
      if (reply.type === 'stopped') process.exit(0)
    } catch (error) {
      send({ type: 'error', op: request.op, message: messageOf(error) })
      // A service that could not start has nothing to run: it exits, as serve would.
      if (request.op === 'start') process.exit(1)
    }
  })
})
process.stdin.on('end', () => void queue.then(() => site?.stop()).finally(() => process.exit(0)))
