import { redactRpcUrl } from '../../chain/redactRpcUrl.ts'
import { describeZodIssue } from '../../errors/describeZodIssue.ts'
import type { LiveMarketEvent, LiveMarketView } from '../../market/live/liveMarketView.ts'
import { liveMarketEventSchema, liveMarketStatusSchema, marketLedgerSchema } from '../../market/marketLedgerSchema.ts'
import type { MarketResult } from '../contract.ts'

export type LiveMarketFeed = {
  /** GET /api/market: the node's ledger and state, checked and with credentials removed; `available: false` naming the fault when the node gives something else. */
  answer(): MarketResult
  /** Every well-formed event of the node, to each listener; returns the unsubscribe. */
  onEvent(listener: (event: LiveMarketEvent) => void): () => void
}

const maxDetailChars = 500
// `scheme://user:password@host` anywhere in a message (a broker's or an RPC client's error)
const credentialsInText = /([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi
const redactText = (text: string | null) => (text === null ? null : text.replace(credentialsInText, '$1***@'))

const describeIssues = (error: { issues: Parameters<typeof describeZodIssue>[0][] }, input: unknown) =>
  error.issues
    .slice(0, 3)
    .map((i) => describeZodIssue(i, input))
    .join('; ')

/**
 * What core/api serves of a live market node (LiveMarketView, issue 15): the node is
 * trusted code but not trusted to be right, so its ledger, status and events are checked
 * against the schemas here, at the edge, and a bad value (or a throwing view) becomes an
 * answer that names it instead of a crash or a malformed stream. URLs and error texts lose
 * their credentials, whatever the node put in them: every signed-in role reads this.
 */
export function createLiveMarketFeed(view: LiveMarketView, log: (message: string) => void): LiveMarketFeed {
  const listeners = new Set<(event: LiveMarketEvent) => void>()
  let unsubscribeView: (() => void) | null = null
  let malformedEvents = 0

  const unavailable = (reason: string): MarketResult => {
    log(`api: /api/market: ${reason}`)
    return { available: false, reason }
  }

  const answer = (): MarketResult => {
    let ledgerValue: unknown
    let statusValue: unknown
    try {
      ledgerValue = view.ledger()
      statusValue = view.status()
    } catch (error) {
      return unavailable(`the live market node cannot answer: ${redactText((error as Error).message ?? String(error))}`)
    }
    const ledger = marketLedgerSchema.safeParse(ledgerValue)
    if (!ledger.success) return unavailable(`the live market node's ledger is malformed: ${describeIssues(ledger.error, ledgerValue)}`)
    const status = liveMarketStatusSchema.safeParse(statusValue)
    if (!status.success) return unavailable(`the live market node's status is malformed: ${describeIssues(status.error, statusValue)}`)
    const s = status.data
    return {
      available: true,
      source: 'live',
      ledger: { ...ledger.data, chain: { ...ledger.data.chain, rpcUrl: redactRpcUrl(ledger.data.chain.rpcUrl) } },
      live: {
        ...s,
        broker: { ...s.broker, url: redactRpcUrl(s.broker.url), lastError: redactText(s.broker.lastError) },
        chain: { ...s.chain, rpcUrl: redactRpcUrl(s.chain.rpcUrl), lastError: redactText(s.chain.lastError) },
      },
    }
  }

  const forward = (value: LiveMarketEvent) => {
    const input = value !== null && typeof value === 'object' && typeof value.detail === 'string' ? { ...value, detail: redactText(value.detail.slice(0, maxDetailChars)) } : value
    const parsed = liveMarketEventSchema.safeParse(input)
    if (!parsed.success) {
      malformedEvents++
      // one line for the first and then at each power of ten: a node gone wrong must not flood the log
      if (Number.isInteger(Math.log10(malformedEvents))) log(`api: live market event not sent (malformed; ${malformedEvents} so far): ${describeIssues(parsed.error, input)}`)
      return
    }
    const event = parsed.data as LiveMarketEvent
    for (const listener of listeners) {
      try {
        listener(event)
      } catch (error) {
        // a client's failure stays with that client: the node's emitter and the other clients go on
        log(`api: live market event: a subscriber failed: ${(error as Error).message}`)
      }
    }
  }

  const onEvent: LiveMarketFeed['onEvent'] = (listener) => {
    listeners.add(listener)
    // the node is subscribed once, while anyone listens
    unsubscribeView ??= view.onEvent((event) => {
      try {
        forward(event)
      } catch (error) {
        log(`api: live market event not sent: ${(error as Error).message}`)
      }
    })
    return () => {
      listeners.delete(listener)
      if (listeners.size === 0 && unsubscribeView) {
        unsubscribeView()
        unsubscribeView = null
      }
    }
  }

  return { answer, onEvent }
}
