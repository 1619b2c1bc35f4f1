import { z } from 'zod'

// What a market run leaves for the HMI's market view (GET /api/market): every interval's
// signed orders, clearing, trades, signed meter readings and settlement transactions,
// and the sites' balances. Token amounts and intervals are decimal strings (uint256 and
// uint64 on chain do not fit a JSON number).

const decimal = z.string().regex(/^-?\d{1,78}$/, 'a decimal integer')
const hex = (bytes: number) => z.string().regex(new RegExp(`^0x[0-9a-fA-F]{${bytes * 2}}$`), `0x and ${bytes} bytes of hex`)
const signatureSchema = z.strictObject({ r: hex(32), vs: hex(32) })
const uint = z.number().int().min(0)

export const marketLedgerSchema = z.strictObject({
  version: z.literal(1),
  /** `market-demo`: a market demo's ledger file; `live`: a trading serve's or the operator's own intervals (core/trading). */
  source: z.enum(['market-demo', 'live']),
  writtenAtMs: uint,
  chain: z.strictObject({ rpcUrl: z.string(), chainId: uint, embedded: z.boolean(), market: hex(20), token: hex(20) }),
  intervalSec: uint,
  disputeWindowSec: uint,
  sites: z.array(z.strictObject({ siteId: uint, owner: hex(20), meter: hex(20) })),
  intervals: z.array(
    z.strictObject({
      interval: decimal,
      startMs: uint,
      endMs: uint,
      /** EIP-712 signed orders; limitPrice in settlement-token base units per kWh. */
      orders: z.array(z.strictObject({ siteId: uint, side: z.enum(['bid', 'ask']), energyWh: uint, limitPrice: decimal, deadline: decimal, signature: signatureSchema })),
      /** Uniform clearing price (token base units per kWh), null when nothing traded. */
      clearingPrice: decimal.nullable(),
      tradedWh: uint,
      trades: z.array(z.strictObject({ sellerSiteId: uint, buyerSiteId: uint, energyWh: uint })),
      /** The meters' EIP-712 signed readings of the interval. */
      readings: z.array(z.strictObject({ siteId: uint, importWh: uint, exportWh: uint, signature: signatureSchema })),
      settlement: z.strictObject({
        state: z.enum(['no-trade', 'settled', 'finalized']),
        commitTx: hex(32).nullable(),
        settleTx: hex(32).nullable(),
        finalizeTx: hex(32).nullable(),
        /** Chain time (ms) after which the settlement can be finalized; disputes before it. */
        disputeWindowEndsAtMs: uint.nullable(),
      }),
      /** A live site's recomputation of the committed clearing from the orders it saw (checkClearing): agrees, or differs and why. Absent in a demo ledger. */
      check: z.strictObject({ agrees: z.boolean(), detail: z.string().max(2000) }).optional(),
      /**
       * The feeder check (EnergyMarket.postFeederReading, reconcileFeeder): the point-of-coupling meter's signed
       * reading against the sum of the sites' readings; mismatch when the difference exceeds toleranceBps of the
       * sites' gross flow. Absent when no feeder reading was posted for the interval.
       */
      feeder: z
        .strictObject({
          importWh: uint,
          exportWh: uint,
          feederNetWh: z.number().int(),
          sitesNetWh: z.number().int(),
          toleranceBps: uint,
          mismatch: z.boolean(),
          postTx: hex(32).nullable(),
        })
        .optional(),
    }),
  ),
  /**
   * Escrow (free balance plus bond) at the start and now. `locked`: what committed intervals not yet finalized hold
   * out of the free balance (each trade's worst-case liability, released with the settlement by finalize); absent
   * when the writer does not know it. Without it, `after - before` counts the locks as losses until finalize.
   */
  balances: z.array(z.strictObject({ siteId: uint, before: decimal, after: decimal, locked: decimal.optional() })),
})

export type MarketLedger = z.infer<typeof marketLedgerSchema>

const dropCount = uint
/**
 * A live market node's state beside its ledger (GET /api/market's `live`): the shape of
 * LiveMarketStatus (core/market/live/liveMarketView.ts), checked before it is served.
 */
export const liveMarketStatusSchema = z.strictObject({
  role: z.enum(['site', 'operator', 'site+operator']),
  siteId: uint.nullable(),
  community: z.string().max(200),
  broker: z.strictObject({ url: z.string().max(2000), connected: z.boolean(), lastError: z.string().nullable() }),
  chain: z.strictObject({ rpcUrl: z.string().max(2000), chainId: uint, reachable: z.boolean(), lastError: z.string().nullable() }),
  counters: z.strictObject({
    accepted: dropCount,
    oversized: dropCount,
    malformed: dropCount,
    replayed: dropCount,
    duplicate: dropCount,
    late: dropCount,
    forged: dropCount,
    conflicting: dropCount,
    unverified: dropCount,
  }),
  presence: z.array(z.strictObject({ role: z.enum(['site', 'operator']), siteId: uint, online: z.boolean(), epoch: z.string().max(200), seenAtMs: uint })).max(1000),
  outboxPending: uint,
  currentInterval: decimal.nullable(),
  gateClosesAtMs: uint.nullable(),
})

/** One step of a live interval on the event stream (LiveMarketEvent), checked before it is sent. */
export const liveMarketEventSchema = z.strictObject({
  type: z.literal('market'),
  kind: z.enum(['order', 'sat-out', 'clearing', 'check', 'commit', 'reading', 'settle', 'finalize', 'dropped', 'presence', 'error']),
  interval: decimal.nullable(),
  atMs: uint,
  detail: z.string().max(2000),
  tx: hex(32).optional(),
})
