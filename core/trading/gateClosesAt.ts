/**
 * When the gate of an interval closes, in chain seconds: the operator clears and commits
 * then, and a site's order must be on the broker before it. The commit must be mined
 * before the interval starts (the contract refuses it later, CommitTooLate), so the gate
 * closes a tenth of an interval before the start, at most 60 s (15-minute intervals: 60 s;
 * 60 s intervals: 6 s). A site sends its order earlier (startLiveSite: 20 % of the interval).
 */
export function gateClosesAt(intervalStartS: bigint, intervalSec: bigint): bigint {
  const tenth = intervalSec / 10n
  return intervalStartS - (tenth < 60n ? tenth : 60n)
}
