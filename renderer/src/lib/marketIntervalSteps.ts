import type { LiveMarketEvent, MarketInterval } from '../transport/apiTypes.ts'
import { formatEnergy } from './formatEnergy.ts'

/** done: the step happened; waiting: it is due and not there yet; skipped: it does not apply (nothing traded, sat out); problem: it went wrong. */
export type StepState = 'done' | 'waiting' | 'skipped' | 'problem'
/** `text` fits a table cell; `detail` is the whole story (a check's reason), for a tooltip and the interval's detail. */
export type IntervalStep = { state: StepState; text: string; detail?: string }
export type IntervalSteps = { orders: IntervalStep; clearing: IntervalStep; check: IntervalStep; readings: IntervalStep; settlement: IntervalStep }

/**
 * Where one interval is, step by step (orders, clearing, this site's check of the
 * clearing, the signed readings, settlement), from its ledger entry and the live `market`
 * events of it seen since the page opened (`events`, newest first), for the market view's
 * row. The ledger is the record; an event only fills what it does not hold (a sat-out, a
 * check the node did not record).
 */
export function marketIntervalSteps(iv: MarketInterval, events: readonly LiveMarketEvent[], nowMs: number): IntervalSteps {
  const latest = (kind: LiveMarketEvent['kind']) => events.find((e) => e.interval === iv.interval && e.kind === kind)
  const s = iv.settlement
  const committed = s.commitTx !== null || iv.clearingPrice !== null
  const started = nowMs >= iv.startMs
  const ended = nowMs >= iv.endMs

  const asks = iv.orders.filter((o) => o.side === 'ask').length
  const satOut = latest('sat-out')
  const orders: IntervalStep =
    iv.orders.length > 0
      ? { state: 'done', text: `${asks} ask${asks === 1 ? '' : 's'} · ${iv.orders.length - asks} bid${iv.orders.length - asks === 1 ? '' : 's'}${satOut ? ` · this site sat out` : ''}` }
      : satOut
        ? { state: 'skipped', text: `sat out: ${satOut.detail}` }
        : { state: started ? 'skipped' : 'waiting', text: started ? 'no orders' : 'gate open' }

  const clearing: IntervalStep = committed
    ? { state: 'done', text: iv.clearingPrice === null ? 'committed' : `${iv.clearingPrice} · ${formatEnergy(iv.tradedWh)}` }
    : started
      ? { state: 'skipped', text: 'nothing traded' }
      : { state: 'waiting', text: 'after gate closure' }

  const checkEvent = latest('check')
  // the ledger's verdict when the node records one; else the last check event's words (it says "differs" when it does)
  const agrees = iv.check ? iv.check.agrees : checkEvent ? !/differ|mismatch/i.test(checkEvent.detail) : null
  const check: IntervalStep =
    agrees === null
      ? { state: committed ? 'waiting' : 'skipped', text: committed ? 'not reported' : '—' }
      : { state: agrees ? 'done' : 'problem', text: agrees ? 'agrees' : 'differs', detail: iv.check?.detail ?? checkEvent!.detail }

  const traders = new Set(iv.trades.flatMap((t) => [t.sellerSiteId, t.buyerSiteId]))
  const signed = iv.readings.filter((r) => traders.has(r.siteId)).length
  const readings: IntervalStep =
    traders.size === 0
      ? { state: 'skipped', text: iv.readings.length > 0 ? `${iv.readings.length} (no trade)` : '—' }
      : signed >= traders.size
        ? { state: 'done', text: `${signed} of ${traders.size} sites` }
        : { state: 'waiting', text: ended ? `${signed} of ${traders.size} sites` : 'after delivery' }

  const settlement: IntervalStep =
    s.state === 'finalized'
      ? { state: 'done', text: 'finalized' }
      : s.state === 'settled'
        ? { state: 'waiting', text: s.disputeWindowEndsAtMs !== null && s.disputeWindowEndsAtMs > nowMs ? 'settled, dispute window open' : 'settled, finalize due' }
        : committed
          ? { state: 'waiting', text: ended ? 'awaiting settlement' : 'delivery' }
          : { state: 'skipped', text: 'no trade' }

  return { orders, clearing, check, readings, settlement }
}
