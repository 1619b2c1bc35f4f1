import { BaseError } from '../errors/BaseError.ts'

/** The simulator's clock could not be read, or never started running. */
export class SimulatorClockError extends BaseError {
  override name = 'SimulatorClockError' as const
}

export type LiveSimulatorClock = {
  /** the simulator's time now (ms): its time when read, run on at its speed */
  now: () => number
  /** simulated seconds per real second */
  speed: number
  /** a site's timing at this speed: a control cycle every simulated 15 s at most and every real second at least; staleness and setpoint refresh, in simulated ms, wide enough for it */
  periodMs: number
  staleAfterMs: number
  refreshMs: number
}

/**
 * A site's clock on a time-warped simulator (`serve --sim-clock`, the demo's peers): the
 * simulator's time and speed read once from its control API (GET /api/state), extrapolated
 * at that speed on this process's monotonic clock. A paused simulator (speed 0) is waited
 * for, read every `pollMs`, until it runs: the demo starts its simulators paused and lets
 * them run together.
 */
export async function liveSimulatorClock({ apiUrl, pollMs = 200, timeoutMs = 600_000, signal }: { apiUrl: string; pollMs?: number; timeoutMs?: number; signal?: AbortSignal }): Promise<LiveSimulatorClock> {
  const started = performance.now()
  for (;;) {
    const askedAt = performance.now()
    let state: { timeMs?: unknown; speed?: unknown }
    try {
      const res = await fetch(`${apiUrl.replace(/\/$/, '')}/api/state`, { signal: AbortSignal.timeout(5_000) })
      if (!res.ok) throw new Error(`HTTP ${res.status}`)
      state = (await res.json()) as typeof state
    } catch (cause) {
      throw new SimulatorClockError(`--sim-api ${apiUrl}: cannot read the simulator's clock (GET /api/state: ${(cause as Error).message}); expected a running 'gridmesh sim'`, { cause })
    }
    const { timeMs, speed } = state
    if (typeof timeMs !== 'number' || typeof speed !== 'number' || !(speed >= 0)) throw new SimulatorClockError(`--sim-api ${apiUrl}: GET /api/state has no timeMs and speed; expected a 'gridmesh sim' control API`)
    if (speed > 0) {
      // the answer's time was read somewhere within the request: its middle is the best guess
      const readAt = (askedAt + performance.now()) / 2
      const periodMs = Math.min(1000, 15_000 / speed)
      return { now: () => Math.round(timeMs + (performance.now() - readAt) * speed), speed, periodMs, staleAfterMs: Math.max(10_000, 3 * periodMs * speed), refreshMs: Math.max(20_000, 2 * periodMs * speed) }
    }
    if (signal?.aborted) throw new SimulatorClockError('stopped while waiting for the simulator\'s clock to run')
    if (performance.now() - started > timeoutMs) throw new SimulatorClockError(`--sim-api ${apiUrl}: the simulator's clock stayed paused for ${timeoutMs / 1000} s; expected it to run (PUT /api/clock {speed})`)
    await new Promise((r) => setTimeout(r, pollMs))
  }
}
