// The ISA-18.2 alarm state machine, pure: the store applies it inside a transaction and
// records every transition it returns. ISA-18.2 (ANSI/ISA-18.2-2016, fig. 5) names
// A normal, B unacknowledged, C acknowledged, D returned to normal unacknowledged, and
// the shelved state beside them, whose alarm is taken out of annunciation until an
// operator unshelves it or its time runs out.

/** The states an alarm is in; `normal` closes it (the key is free for a new alarm). */
export type AlarmState = 'unacknowledged' | 'acknowledged' | 'returned-unacknowledged' | 'normal' | 'shelved'

export const ALARM_STATES: readonly AlarmState[] = ['unacknowledged', 'acknowledged', 'returned-unacknowledged', 'normal', 'shelved']

/** What the machine needs to know of an alarm. */
export type AlarmFacts = {
  state: AlarmState
  /** Whether the alarm's condition holds now; tracked while shelved, so unshelving knows where to go. */
  conditionActive: boolean
  /** Set while shelved. */
  shelvedUntilMs: number | null
}

export type AlarmInput =
  | { type: 'raise' }
  | { type: 'clear' }
  | { type: 'acknowledge' }
  | { type: 'shelve'; untilMs: number }
  | { type: 'unshelve' }
  /** The clock passed a shelve's expiry. */
  | { type: 'expire' }

export type AlarmTransition =
  /** `changed` false: the input was already satisfied (acknowledging an acknowledged alarm), nothing to record. */
  | { ok: true; changed: boolean; facts: AlarmFacts }
  /** The input makes no sense in this state: nothing changes, `problem` says why. */
  | { ok: false; problem: string }

const is = (facts: AlarmFacts, next: AlarmFacts): AlarmTransition => ({
  ok: true,
  changed: facts.state !== next.state || facts.conditionActive !== next.conditionActive || facts.shelvedUntilMs !== next.shelvedUntilMs,
  facts: next,
})

/**
 * The next state of an alarm for one input at `nowMs`. A shelved alarm follows its
 * condition silently; when it is unshelved (by hand or at expiry) an alarm whose
 * condition still holds comes back unacknowledged (annunciated again), otherwise normal.
 */
export function transitionAlarm(facts: AlarmFacts, input: AlarmInput, nowMs: number): AlarmTransition {
  const { state } = facts
  const unshelved = (): AlarmFacts => ({ state: facts.conditionActive ? 'unacknowledged' : 'normal', conditionActive: facts.conditionActive, shelvedUntilMs: null })
  switch (input.type) {
    case 'raise':
      if (state === 'normal') return { ok: false, problem: 'is closed (normal); a new occurrence is a new alarm' }
      if (state === 'returned-unacknowledged') return is(facts, { state: 'unacknowledged', conditionActive: true, shelvedUntilMs: null })
      return is(facts, { ...facts, conditionActive: true })
    case 'clear':
      if (state === 'normal') return is(facts, facts)
      if (state === 'unacknowledged') return is(facts, { state: 'returned-unacknowledged', conditionActive: false, shelvedUntilMs: null })
      if (state === 'acknowledged') return is(facts, { state: 'normal', conditionActive: false, shelvedUntilMs: null })
      return is(facts, { ...facts, conditionActive: false })
    case 'acknowledge':
      if (state === 'unacknowledged') return is(facts, { ...facts, state: 'acknowledged' })
      if (state === 'returned-unacknowledged') return is(facts, { ...facts, state: 'normal' })
      if (state === 'acknowledged') return is(facts, facts)
      if (state === 'shelved') return { ok: false, problem: 'is shelved; unshelve it first' }
      return { ok: false, problem: 'is closed (normal)' }
    case 'shelve':
      if (!Number.isFinite(input.untilMs) || input.untilMs <= nowMs) return { ok: false, problem: `cannot be shelved until ${input.untilMs}: the expiry must be after now (${nowMs})` }
      if (state === 'normal') return { ok: false, problem: 'is closed (normal); there is nothing to shelve' }
      // Shelving a shelved alarm moves its expiry: the operator's latest decision holds.
      return is(facts, { state: 'shelved', conditionActive: facts.conditionActive, shelvedUntilMs: input.untilMs })
    case 'unshelve':
      if (state !== 'shelved') return { ok: false, problem: `is not shelved (it is ${state})` }
      return is(facts, unshelved())
    case 'expire':
      if (state !== 'shelved' || facts.shelvedUntilMs === null || nowMs < facts.shelvedUntilMs) return is(facts, facts)
      return is(facts, unshelved())
  }
}
