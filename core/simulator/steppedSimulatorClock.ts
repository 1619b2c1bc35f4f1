/**
 * A clock that moves only with the simulator's: `step` advances the simulator by so many
 * simulated seconds (its HTTP API) and then this clock; a site runtime's `runTo` steps it
 * between cycles.
 */
export function steppedSimulatorClock(sim: { advance(seconds: number): Promise<unknown> }, startMs: number): { now(): number; step(seconds: number): Promise<void> } {
  let nowMs = startMs
  return {
    now: () => nowMs,
    async step(seconds) {
      await sim.advance(seconds)
      nowMs += seconds * 1000
    },
  }
}
