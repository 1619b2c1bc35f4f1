/** Reconnect delay after `attempt` failures: 0.5 s doubling to 15 s, so a restarted service is found within seconds and a dead one is not hammered. */
export function nextBackoffMs(attempt: number, baseMs = 500, maxMs = 15_000): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(attempt, 30)))
}
