import type { Alarm } from '../transport/apiTypes.ts'

export type IsaAlarmState = Alarm['state']

/**
 * The ISA-18.2 state to show at `nowMs`: the server's, except that a shelve whose expiry
 * has passed on this screen's clock is shown as what the server turns it into at expiry
 * (unacknowledged while the condition holds, else normal), so an expired shelve never
 * hides an alarm between two snapshots.
 */
export function isaAlarmState(alarm: Alarm, nowMs: number): IsaAlarmState {
  if (alarm.state === 'shelved' && alarm.shelvedUntilMs != null && alarm.shelvedUntilMs <= nowMs) return alarm.conditionActive ? 'unacknowledged' : 'normal'
  return alarm.state
}
