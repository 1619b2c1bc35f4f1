import { readContract } from 'viem/actions'
import { concatHex, toHex, type Account, type Address, type Chain, type Hash, type Hex, type Transport, type WalletClient } from 'viem'
import { energyMarketAbi } from '../../contracts/abi.ts'
import { MarketInputError } from '../market/MarketInputError.ts'
import { packSettleReading, unpackOrder, unpackSettleReading, type EncodedClearing } from '../market/encodeClearing.ts'
import type { SignedMeterReading, SignedOrder } from '../market/signMarketData.ts'
import { buildFinalization, type Finalization } from './buildFinalization.ts'
import { orderArgs } from './commitClearing.ts'
import type { SettleIntervalParameters } from './settleInterval.ts'

export type StepMarketParameters = {
  /** settled intervals past their dispute window, credited first (frees their ring slots) */
  finals: readonly Pick<Finalization, 'interval' | 'inputsHash' | 'releases'>[]
  /** the interval that just ended (no site refs: the step settles nothing); `releases`, when
   * given, are sent instead of the ones the readings give (a test's dishonest operator) */
  settle: SettleIntervalParameters & { releases?: readonly bigint[] }
  /** the interval after the running one */
  commit: EncodedClearing
  /** the market's penalty rate: a step carries the releases its settlement gives (needed when it settles) */
  penaltyBps?: bigint
}

const word = (x: bigint | Hex): Hex => (typeof x === 'string' ? toHex(BigInt(x), { size: 32 }) : toHex(x, { size: 32 }))

function field(value: bigint | number, bits: bigint, what: string): bigint {
  const v = BigInt(value)
  if (v < 0n || v >= 1n << bits) throw new MarketInputError(`step: ${what}`, `below 2^${bits}`, String(value))
  return v
}

/** The packed argument of a step (see EnergyMarket.marketStep): one head word,
 * then the finals, the settlement and the commitment as 32-byte words without ABI framing;
 * it follows the selector directly in the calldata. The settlement is optimistic: the
 * committed clearing's hash, the releases the readings give (buildFinalization, at
 * `penaltyBps`) and the readings; a wrong release is proven in AuctionVerifier.proveSettlement. */
export function encodeStep({ finals, settle, commit, penaltyBps }: StepMarketParameters): Hex {
  const head =
    (field(finals.length, 8n, 'finals') << 248n) |
    (field(settle.siteRefs.length, 8n, 'settled sites') << 240n) |
    (field(commit.orders.length, 8n, 'orders') << 224n) |
    (field(commit.matches.length, 8n, 'committed matches') << 216n) |
    (field(settle.clearing.interval, 32n, 'settled interval') << 184n) |
    (field(commit.interval, 32n, 'committed interval') << 88n) |
    (field(commit.price, 64n, 'committed price') << 24n)
  if (settle.readings.length !== settle.siteRefs.length)
    throw new MarketInputError('step: readings', `one per settled site (${settle.siteRefs.length})`, String(settle.readings.length))
  const words: Hex[] = [word(head)]
  for (const f of finals) {
    // a final word is interval << 8 | count, and the contract refuses any bit above 40
    words.push(word((field(f.interval, 32n, 'finalized interval') << 8n) | field(f.releases.length, 8n, 'releases')), f.inputsHash)
    words.push(...f.releases.map(word))
  }
  if (settle.siteRefs.length > 0) {
    if (settle.releases === undefined && penaltyBps === undefined)
      throw new MarketInputError('step: penaltyBps', "the market's penalty rate (a step carries its settlement's releases)", 'nothing')
    const settlement = buildFinalization({ clearing: settle.clearing, siteRefs: settle.siteRefs, readings: settle.readings, penaltyBps: penaltyBps ?? 0n })
    const releases = settle.releases ?? settlement.releases
    if (releases.length !== settle.siteRefs.length)
      throw new MarketInputError('step: releases', `one per settled site (${settle.siteRefs.length})`, String(releases.length))
    words.push(settlement.clearingHash, ...releases.map(word))
  }
  for (const r of settle.readings.map(packSettleReading)) words.push(word(r.meta), r.r, r.vs)
  for (const o of orderArgs(commit)) words.push(word(o.meta), o.r, o.vs)
  words.push(...commit.matches.map(word))
  return concatHex(words)
}

/** Sends a step, marketStep(): finalize, settle and commit of a live market in one
 * transaction (operator). The packed data rides after the selector, not as an ABI argument. */
export async function stepMarket(
  wallet: WalletClient<Transport, Chain, Account>,
  market: Address,
  parameters: StepMarketParameters,
): Promise<Hash> {
  const penaltyBps =
    parameters.penaltyBps ??
    (parameters.settle.siteRefs.length > 0 && !parameters.settle.releases ? await readContract(wallet, { address: market, abi: energyMarketAbi, functionName: 'penaltyBps' }) : undefined)
  return wallet.writeContract({ address: market, abi: energyMarketAbi, functionName: 'marketStep', dataSuffix: encodeStep({ ...parameters, penaltyBps }) })
}

/**
 * What a `Stepped` log says a marketStep did besides its commit: the interval it settled
 * (the low 32 bits; a step always carries a settle part) and the first 6 intervals it
 * finalized (more than 6 log IntervalFinalized each).
 */
export function steppedIntervals(settledAndFinalized: bigint): { settled: bigint; finalized: bigint[] } {
  const n = Number((settledAndFinalized >> 32n) & 0xffn)
  const finalized: bigint[] = []
  for (let i = 0; i < Math.min(n, 6); i++) finalized.push((settledAndFinalized >> BigInt(40 + 32 * i)) & 0xffffffffn)
  return { settled: settledAndFinalized & 0xffffffffn, finalized }
}

/** A step as its calldata carries it (decodeStep). */
export type DecodedStep = {
  finals: { interval: bigint; inputsHash: Hex; releases: bigint[] }[]
  /** the settled interval: the committed clearing's hash, the releases the step bound (site id
   * << 64 | amount) and the readings, one per position; no releases when the step settled nothing */
  settle: { interval: bigint; clearingHash: Hex | null; releases: bigint[]; readings: (SignedMeterReading | null)[] }
  /** the committed clearing as the step sent it: its orders unchecked on chain (a forged one is proven in AuctionVerifier) */
  commit: { interval: bigint; price: bigint; siteIds: number[]; orders: SignedOrder[]; matches: bigint[] }
}

/** The inverse of encodeStep: what a marketStep's packed data (the calldata after its
 * selector) committed, settled and finalized. Throws MarketInputError, naming the part, on
 * data that is not a whole step. */
export function decodeStep(data: Hex): DecodedStep {
  const hex = data.slice(2)
  if (hex.length % 64 !== 0 || hex.length === 0) throw new MarketInputError('step data', 'whole 32-byte words', `${hex.length / 2} bytes`)
  const words = Array.from({ length: hex.length / 64 }, (_, i) => `0x${hex.slice(64 * i, 64 * (i + 1))}` as Hex)
  let at = 0
  const take = (what: string): Hex => {
    const w = words[at++]
    if (w === undefined) throw new MarketInputError('step data', `a word for ${what}`, `the end of the data at word ${at - 1}`)
    return w
  }
  const big = (what: string) => BigInt(take(what))
  const head = big('the head')
  const count = (shift: bigint) => Number((head >> shift) & 0xffn)
  const [nFinals, nSites, nOrders, nCommitMatches] = [248n, 240n, 224n, 216n].map(count) as [number, number, number, number]
  const finals: DecodedStep['finals'] = []
  for (let f = 0; f < nFinals; f++) {
    const w = big('a final')
    const releasesCount = Number(w & 0xffn)
    const inputsHash = take('a final\'s inputs hash')
    finals.push({ interval: (w >> 8n) & 0xffffffffn, inputsHash, releases: Array.from({ length: releasesCount }, () => big('a release')) })
  }
  const clearingHash = nSites > 0 ? take('the settled clearing hash') : null
  const releases = Array.from({ length: nSites }, () => big('a settled release'))
  const readings = releases.map((release) => {
    const meta = big('a reading')
    return unpackSettleReading(Number((release >> 64n) & 0xffffffffn), meta, take('a reading\'s r'), take('a reading\'s vs'))
  })
  const orders = Array.from({ length: nOrders }, () => {
    const meta = big('an order')
    return unpackOrder(meta, take('an order\'s r'), take('an order\'s vs'))
  })
  const commitMatches = Array.from({ length: nCommitMatches }, () => big('a committed match'))
  if (at !== words.length) throw new MarketInputError('step data', `${at} words`, `${words.length}`)
  return {
    finals,
    settle: { interval: (head >> 184n) & 0xffffffffn, clearingHash, releases, readings },
    commit: { interval: (head >> 88n) & 0xffffffffn, price: (head >> 24n) & 0xffffffffffffffffn, siteIds: orders.map((o) => o.siteId), orders, matches: commitMatches },
  }
}
