import { concatHex, toHex, type Account, type Address, type Chain, type Hash, type Hex, type Transport, type WalletClient } from 'viem'
import { energyMarketAbi } from '../../contracts/abi.ts'
import { MarketInputError } from '../market/MarketInputError.ts'
import { packSettleReading, type EncodedClearing } from '../market/encodeClearing.ts'
import type { Finalization } from './buildFinalization.ts'
import { orderArgs } from './commitClearing.ts'
import type { SettleIntervalParameters } from './settleInterval.ts'

export type StepMarketParameters = {
  /** settled intervals past their dispute window, credited first (frees their ring slots) */
  finals: readonly Pick<Finalization, 'interval' | 'inputsHash' | 'releases'>[]
  /** the interval that just ended */
  settle: SettleIntervalParameters
  /** the interval after the running one */
  commit: EncodedClearing
}

const word = (x: bigint | Hex): Hex => (typeof x === 'string' ? toHex(BigInt(x), { size: 32 }) : toHex(x, { size: 32 }))

function field(value: bigint | number, bits: bigint, what: string): bigint {
  const v = BigInt(value)
  if (v < 0n || v >= 1n << bits) throw new MarketInputError(`step: ${what}`, `below 2^${bits}`, String(value))
  return v
}

/** The packed argument of a step (see EnergyMarket.marketStep): one head word,
 * then the finals, the settlement and the commitment as 32-byte words without ABI framing;
 * it follows the selector directly in the calldata. */
export function encodeStep({ finals, settle, commit }: StepMarketParameters): Hex {
  const head =
    (field(finals.length, 8n, 'finals') << 248n) |
    (field(settle.siteRefs.length, 8n, 'settled sites') << 240n) |
    (field(settle.clearing.matches.length, 8n, 'settled matches') << 232n) |
    (field(commit.orders.length, 8n, 'orders') << 224n) |
    (field(commit.matches.length, 8n, 'committed matches') << 216n) |
    (field(settle.clearing.interval, 32n, 'settled interval') << 184n) |
    (field(settle.clearing.price, 64n, 'settled price') << 120n) |
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
  words.push(...settle.siteRefs.map(word), ...settle.clearing.matches.map(word))
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
  return wallet.writeContract({ address: market, abi: energyMarketAbi, functionName: 'marketStep', dataSuffix: encodeStep(parameters) })
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
