import { expect, it } from 'vitest'
import { createLoginThrottle } from './createLoginThrottle.ts'

it('lets a few failures through, then doubles the wait per name up to the cap', () => {
  let t = 0
  const throttle = createLoginThrottle({ now: () => t, freeFailures: 2, baseDelayMs: 1000, maxDelayMs: 4000 })
  const waits: number[] = []
  for (let i = 0; i < 6; i++) {
    // each attempt from a new address: the name alone throttles
    const verdict = throttle.check('ann', `10.0.0.${i}`)
    waits.push(verdict.allowed ? 0 : verdict.retryAfterMs)
    if (verdict.allowed) throttle.failed('ann', `10.0.0.${i}`)
    else t += verdict.retryAfterMs
  }
  // fail, fail, fail -> wait 1 s; after it, fail -> wait 2 s
  expect(waits).toEqual([0, 0, 0, 1000, 0, 2000])
  for (let i = 0; i < 5; i++) {
    t += 10_000
    throttle.failed('ann', 'x')
  }
  expect(throttle.check('ann', 'y')).toEqual({ allowed: false, retryAfterMs: 4000 })
})

it('throttles an address across names, and a name case-insensitively', () => {
  const t = 0
  const throttle = createLoginThrottle({ now: () => t, freeFailures: 1 })
  throttle.failed('a', '1.2.3.4')
  throttle.failed('b', '1.2.3.4')
  expect(throttle.check('c', '1.2.3.4').allowed).toBe(false)
  expect(throttle.check('c', '5.6.7.8').allowed).toBe(true)
  throttle.failed('Ann', '9.9.9.1')
  throttle.failed('ann', '9.9.9.2')
  expect(throttle.check('ANN', '9.9.9.3').allowed).toBe(false)
})

it('a success clears the name and address; quiet keys are forgotten; memory is bounded', () => {
  let t = 0
  const throttle = createLoginThrottle({ now: () => t, freeFailures: 0, forgetAfterMs: 60_000, maxKeys: 4 })
  throttle.failed('ann', 'a')
  expect(throttle.check('ann', 'a').allowed).toBe(false)
  throttle.succeeded('ann', 'a')
  expect(throttle.check('ann', 'a').allowed).toBe(true)
  throttle.failed('bob', 'b')
  t += 61_000
  expect(throttle.check('bob', 'b').allowed).toBe(true)
  // 10 names and addresses: only the newest 4 keys are kept
  for (let i = 0; i < 5; i++) throttle.failed(`n${i}`, `a${i}`)
  expect(throttle.check('n0', 'a0').allowed).toBe(true)
  expect(throttle.check('n4', 'z').allowed).toBe(false)
})
