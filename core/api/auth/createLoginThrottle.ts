/** What the throttle says about one attempt: go ahead, or wait this long. */
export type ThrottleVerdict = { allowed: true } | { allowed: false; retryAfterMs: number }

export type LoginThrottleOptions = {
  now: () => number
  /** Failures per key allowed before any wait (default 3). */
  freeFailures?: number
  /** The first wait; each further failure doubles it up to maxDelayMs (defaults 1 s and 60 s). */
  baseDelayMs?: number
  maxDelayMs?: number
  /** A key with no failure for this long starts over (default 15 min). */
  forgetAfterMs?: number
  /** Keys remembered at most (oldest forgotten first), so a flood of names cannot grow memory (default 10,000). */
  maxKeys?: number
}

type Entry = { failures: number; lastFailureMs: number; blockedUntilMs: number }

/**
 * Backoff against password guessing, kept per user name and per client address
 * independently: after a few failures each further one doubles the wait, on both keys,
 * and while either waits every attempt is refused, a right password too. Unknown names
 * count like known ones, so the answer never tells whether a name exists.
 */
export function createLoginThrottle(options: LoginThrottleOptions) {
  const freeFailures = options.freeFailures ?? 3
  const baseDelayMs = options.baseDelayMs ?? 1000
  const maxDelayMs = options.maxDelayMs ?? 60_000
  const forgetAfterMs = options.forgetAfterMs ?? 15 * 60_000
  const maxKeys = options.maxKeys ?? 10_000
  const entries = new Map<string, Entry>()
  const keys = (name: string, address: string) => [`name:${name.toLowerCase()}`, `address:${address}`]
  const live = (key: string, nowMs: number) => {
    const e = entries.get(key)
    if (e && nowMs - e.lastFailureMs > forgetAfterMs && nowMs >= e.blockedUntilMs) {
      entries.delete(key)
      return undefined
    }
    return e
  }
  return {
    /** Before checking a password: may this name from this address try now? */
    check(name: string, address: string): ThrottleVerdict {
      const nowMs = options.now()
      const waitMs = Math.max(0, ...keys(name, address).map((k) => (live(k, nowMs)?.blockedUntilMs ?? 0) - nowMs))
      return waitMs > 0 ? { allowed: false, retryAfterMs: waitMs } : { allowed: true }
    },
    failed(name: string, address: string): void {
      const nowMs = options.now()
      for (const key of keys(name, address)) {
        const e = live(key, nowMs) ?? { failures: 0, lastFailureMs: nowMs, blockedUntilMs: 0 }
        e.failures++
        e.lastFailureMs = nowMs
        if (e.failures > freeFailures) e.blockedUntilMs = nowMs + Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(30, e.failures - freeFailures - 1))
        entries.delete(key) // re-insert: the Map's order is then least recently failed first
        entries.set(key, e)
      }
      while (entries.size > maxKeys) entries.delete(entries.keys().next().value!)
    },
    /** A right password clears its name and address. */
    succeeded(name: string, address: string): void {
      for (const key of keys(name, address)) entries.delete(key)
    },
  }
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>
