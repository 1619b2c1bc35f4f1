/**
 * The simulator's clock: simulated time runs at `speed` times real time from `startMs`.
 * Speed 0 pauses it; `advance` moves simulated time by hand (tests, backtests).
 */
export type SimClock = {
  readonly speed: number
  /** Simulated time reached by real time now (the physics catches up to it each tick). */
  targetMs(): number
  setSpeed(speed: number): void
  /** Moves the target forward by `durationMs` of simulated time at once. */
  advance(durationMs: number): void
}

export function createSimClock({ startMs, speed, nowMs = () => performance.now() }: { startMs: number; speed: number; nowMs?: () => number }): SimClock {
  let anchorSimMs = startMs
  let anchorRealMs = nowMs()
  let currentSpeed = speed
  const target = () => anchorSimMs + (nowMs() - anchorRealMs) * currentSpeed
  return {
    get speed() {
      return currentSpeed
    },
    targetMs: target,
    setSpeed(next) {
      anchorSimMs = target()
      anchorRealMs = nowMs()
      currentSpeed = next
    },
    advance(durationMs) {
      anchorSimMs += durationMs
    },
  }
}
