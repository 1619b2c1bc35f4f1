import { describe, expect, it } from 'vitest'
import { ALARM_STATES, transitionAlarm, type AlarmFacts, type AlarmInput, type AlarmState } from './transitionAlarm.ts'

const NOW = 1_000_000
const facts = (state: AlarmState, conditionActive: boolean, shelvedUntilMs: number | null = null): AlarmFacts => ({ state, conditionActive, shelvedUntilMs })
const next = (from: AlarmFacts, input: AlarmInput, nowMs = NOW) => {
  const t = transitionAlarm(from, input, nowMs)
  return t.ok ? t.facts : t.problem
}

describe('transitionAlarm (ISA-18.2)', () => {
  it('walks the standard cycle: unacknowledged -> acknowledged -> normal', () => {
    const raised = facts('unacknowledged', true)
    const acked = next(raised, { type: 'acknowledge' })
    expect(acked).toEqual(facts('acknowledged', true))
    expect(next(acked as AlarmFacts, { type: 'clear' })).toEqual(facts('normal', false))
  })

  it('returns to normal unacknowledged when the condition clears first, and closes on acknowledge', () => {
    const rtn = next(facts('unacknowledged', true), { type: 'clear' })
    expect(rtn).toEqual(facts('returned-unacknowledged', false))
    expect(next(rtn as AlarmFacts, { type: 'acknowledge' })).toEqual(facts('normal', false))
    // the condition coming back before anyone acknowledged it: annunciated again
    expect(next(rtn as AlarmFacts, { type: 'raise' })).toEqual(facts('unacknowledged', true))
  })

  it('treats repeated inputs as already satisfied, not as changes', () => {
    for (const [from, input] of [
      [facts('acknowledged', true), { type: 'acknowledge' }],
      [facts('unacknowledged', true), { type: 'raise' }],
      [facts('acknowledged', true), { type: 'raise' }],
      [facts('returned-unacknowledged', false), { type: 'clear' }],
      [facts('normal', false), { type: 'clear' }],
      [facts('shelved', true, NOW + 10), { type: 'expire' }],
      [facts('unacknowledged', true), { type: 'expire' }],
    ] as [AlarmFacts, AlarmInput][]) {
      expect(transitionAlarm(from, input, NOW), `${from.state} + ${input.type}`).toEqual({ ok: true, changed: false, facts: from })
    }
  })

  it('shelves any open alarm with an expiry, follows the condition silently, and comes back by what the condition is', () => {
    const shelved = next(facts('unacknowledged', true), { type: 'shelve', untilMs: NOW + 60_000 }) as AlarmFacts
    expect(shelved).toEqual(facts('shelved', true, NOW + 60_000))
    expect(next(facts('returned-unacknowledged', false), { type: 'shelve', untilMs: NOW + 1 })).toEqual(facts('shelved', false, NOW + 1))
    expect(next(facts('acknowledged', true), { type: 'shelve', untilMs: NOW + 1 })).toEqual(facts('shelved', true, NOW + 1))
    // still shelved while the condition clears and comes back
    const cleared = next(shelved, { type: 'clear' }) as AlarmFacts
    expect(cleared).toEqual(facts('shelved', false, NOW + 60_000))
    expect(next(cleared, { type: 'raise' })).toEqual(facts('shelved', true, NOW + 60_000))
    // unshelved by hand or at expiry: still active -> annunciated again; gone -> normal
    expect(next(shelved, { type: 'unshelve' })).toEqual(facts('unacknowledged', true))
    expect(next(cleared, { type: 'unshelve' })).toEqual(facts('normal', false))
    expect(next(shelved, { type: 'expire' }, NOW + 59_999)).toEqual(shelved)
    expect(next(shelved, { type: 'expire' }, NOW + 60_000)).toEqual(facts('unacknowledged', true))
    expect(next(cleared, { type: 'expire' }, NOW + 60_001)).toEqual(facts('normal', false))
    // shelving again moves the expiry
    expect(next(shelved, { type: 'shelve', untilMs: NOW + 5 })).toEqual(facts('shelved', true, NOW + 5))
  })

  it('refuses what makes no sense, saying why', () => {
    expect(next(facts('normal', false), { type: 'acknowledge' })).toBe('is closed (normal)')
    expect(next(facts('normal', false), { type: 'raise' })).toBe('is closed (normal); a new occurrence is a new alarm')
    expect(next(facts('normal', false), { type: 'shelve', untilMs: NOW + 1 })).toBe('is closed (normal); there is nothing to shelve')
    expect(next(facts('shelved', true, NOW + 1), { type: 'acknowledge' })).toBe('is shelved; unshelve it first')
    expect(next(facts('acknowledged', true), { type: 'unshelve' })).toBe('is not shelved (it is acknowledged)')
    expect(next(facts('unacknowledged', true), { type: 'shelve', untilMs: NOW })).toBe(`cannot be shelved until ${NOW}: the expiry must be after now (${NOW})`)
    expect(next(facts('unacknowledged', true), { type: 'shelve', untilMs: Number.NaN })).toMatch(/^cannot be shelved until NaN/)
  })

  it('never leaves the five states, and only normal has no condition and no shelve', () => {
    const inputs: AlarmInput[] = [{ type: 'raise' }, { type: 'clear' }, { type: 'acknowledge' }, { type: 'shelve', untilMs: NOW + 1 }, { type: 'unshelve' }, { type: 'expire' }]
    // every reachable state from a raise, by every sequence of up to 5 inputs
    let frontier: AlarmFacts[] = [facts('unacknowledged', true)]
    const seen = new Map<string, AlarmFacts>()
    for (let depth = 0; depth < 5; depth++) {
      const nextFrontier: AlarmFacts[] = []
      for (const f of frontier) {
        for (const input of inputs) {
          for (const at of [NOW, NOW + 2]) {
            const t = transitionAlarm(f, input, at)
            if (!t.ok) continue
            const key = JSON.stringify(t.facts)
            if (!seen.has(key)) nextFrontier.push(t.facts)
            seen.set(key, t.facts)
          }
        }
      }
      frontier = nextFrontier
    }
    const reached = [...seen.values()]
    expect(new Set(reached.map((f) => f.state))).toEqual(new Set(ALARM_STATES))
    for (const f of reached) {
      expect(f.shelvedUntilMs !== null, JSON.stringify(f)).toBe(f.state === 'shelved')
      if (f.state === 'normal' || f.state === 'returned-unacknowledged') expect(f.conditionActive).toBe(false)
      if (f.state === 'unacknowledged' || f.state === 'acknowledged') expect(f.conditionActive).toBe(true)
    }
  })
})
