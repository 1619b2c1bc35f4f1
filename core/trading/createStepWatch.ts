// A step (marketStep) commits and settles without checking signatures: it binds the orders and
// readings it sent (EnergyMarket._orderSigs, _readingSigs), and a forged one is proven in
// AuctionVerifier within the dispute window, paid out of the operator's bond. That is safe only
// if someone reads every step. This is that reader, run by every trading site: it decodes each
// step's calldata and checks
// - every committed order against its site owner's key (a forged order of any site is proven:
//   the proof pays the wronged site's owner, whoever sends it);
// - every settled reading against its meter's key; a forged one is proven with the meter's own
//   signed reading: this site's from its signing journal, a peer's from the broker.
import { concatHex, decodeFunctionData, encodeFunctionData, keccak256, slice, toFunctionSelector, toHex, type Address, type Hex, type Log, type PublicClient } from 'viem'
import { auctionVerifierAbi, energyMarketAbi } from '../../contracts/abi.ts'
import { buildFinalization } from '../chain/buildFinalization.ts'
import { committedSiteRefs } from '../chain/committedSiteRefs.ts'
import { orderForgeryArgs, orderSignedBy, readingForgeryArgs, readingSignedBy } from '../chain/proveForgery.ts'
import { decodeStep, steppedIntervals, type DecodedStep } from '../chain/stepMarket.ts'
import { packSettleReading, unpackSettleReading } from '../market/encodeClearing.ts'
import type { SignedMeterReading } from '../market/signMarketData.ts'
import type { MarketDomain } from '../market/typedData.ts'

const STEP_SELECTOR = toFunctionSelector('marketStep()')
const MAX_LOG_RANGE = 5_000n

/** What a step binds of its readings (EnergyMarket._readingSigs): keccak256 of their meta, r, vs words. */
function readingsBinding(readings: readonly (SignedMeterReading | null)[]): bigint {
  return BigInt(keccak256(concatHex(readings.flatMap((rd) => {
    const { meta, r, vs } = packSettleReading(rd)
    return [toHex(meta, { size: 32 }), r, vs]
  }))))
}

export type StepWatchParameters = {
  client: PublicClient
  market: Address
  verifier: Address
  domain: MarketDomain
  penaltyBps: bigint
  /** the first block to read steps from */
  fromBlock: bigint
  /** this site */
  siteId: number
  /** this site's meter-signed reading of an interval (its journal), null if it signed none */
  ownReading: (interval: bigint) => SignedMeterReading | null
  /** a peer's meter-signed reading the broker brought (the inbox checked its signature), or null */
  peerReading: (interval: bigint, siteId: number) => SignedMeterReading | null
  /** whether a forgery in `interval` can still be proven (its dispute window has not closed) */
  provable: (interval: bigint) => boolean
  /** sends a proof to AuctionVerifier once per key (the outbox); a key is `forgery-orders:<interval>` or `forgery-readings:<interval>:<site ids>` */
  prove: (key: string, tx: { to: Address; data: Hex }) => void
  /** what the watch found; `forged` (alarm-worthy): a forgery, proven or not, or a step whose calldata cannot be read */
  report: (interval: bigint, detail: string, forged: boolean, tx: Hex) => void
}

type SteppedLog = Log<bigint, number, false> & { transactionHash: Hex; blockNumber: bigint; args: { committedInterval?: bigint; settledAndFinalized?: bigint } }

/** Reads every step from `fromBlock` on, once; `poll()` reads the new ones. */
export function createStepWatch(p: StepWatchParameters) {
  let next = p.fromBlock
  /** the settle part of each step read so far, by interval: a proof for an interval already settled names its settlement */
  const settled = new Map<bigint, DecodedStep['settle']>()

  async function read(log: SteppedLog): Promise<DecodedStep | null> {
    const tx = await p.client.getTransaction({ hash: log.transactionHash })
    if (tx.to?.toLowerCase() !== p.market.toLowerCase() || tx.input.length < 10 || slice(tx.input, 0, 4) !== STEP_SELECTOR) {
      // an honest operator sends its steps to the market directly: one that routes them through
      // a contract (or an EIP-7702 delegation) hides what they carried from every watching site
      p.report(log.args.committedInterval ?? 0n, `step ${log.transactionHash} was not sent to the market directly (to ${tx.to ?? 'a new contract'}): the orders and readings it carried are not in the transaction's input, so no site can check or prove them`, true, log.transactionHash)
      return null
    }
    try {
      return decodeStep(tx.input.length === 10 ? '0x' : slice(tx.input, 4))
    } catch (error) {
      p.report(log.args.committedInterval ?? 0n, `step ${log.transactionHash} cannot be read: ${error instanceof Error ? error.message : String(error)}`, true, log.transactionHash)
      return null
    }
  }

  async function checkOrders(step: DecodedStep, log: SteppedLog) {
    const c = step.commit
    if (c.orders.length === 0 || !p.provable(c.interval)) return
    const owners = await Promise.all(
      c.siteIds.map(async (id) => (await p.client.readContract({ address: p.market, abi: energyMarketAbi, functionName: 'site', args: [id], blockNumber: log.blockNumber }))[0].owner),
    )
    const forged: number[] = []
    for (const [k, order] of c.orders.entries()) if (!(await orderSignedBy(p.domain, order, owners[k]!))) forged.push(order.siteId)
    // proven already (by another site, or by this one before a restart): nothing left to do
    if (forged.length === 0 || (await p.client.readContract({ address: p.verifier, abi: auctionVerifierAbi, functionName: 'ordersProven', args: [c.interval] }))) return
    const receipt = await p.client.getTransactionReceipt({ hash: log.transactionHash })
    const siteRefs = await committedSiteRefs(p.client, p.market, c, receipt)
    const s = settled.get(c.interval)
    const settlement = s ? buildFinalization({ clearing: s, siteRefs: s.siteRefs, readings: s.readings, penaltyBps: p.penaltyBps }) : undefined
    p.prove(`forgery-orders:${c.interval}`, { to: p.verifier, data: encodeFunctionData({ abi: auctionVerifierAbi, functionName: 'proveOrderForgery', args: orderForgeryArgs({ clearing: c, siteRefs, owners, settlement }) }) })
    p.report(c.interval, `forged order${forged.length > 1 ? 's' : ''} of site${forged.length > 1 ? 's' : ''} ${forged.join(', ')} committed by step ${log.transactionHash}: not signed by the site's owner; proving it on chain`, true, log.transactionHash)
  }

  /**
   * The readings of a settled interval as the market binds them now: the step's, or, once a
   * reading proof re-settled it, the `fixed` list of the last such proof (read from its
   * transaction). Null when the binding is neither (its ring slot has moved on).
   */
  async function boundReadings(s: DecodedStep['settle'], log: SteppedLog): Promise<(SignedMeterReading | null)[] | null> {
    const [, bound] = await p.client.readContract({ address: p.market, abi: energyMarketAbi, functionName: 'signatureRecord', args: [s.interval] })
    if (bound === readingsBinding(s.readings)) return s.readings
    const proofs = await p.client.getContractEvents({ address: p.verifier, abi: auctionVerifierAbi, eventName: 'ForgeryProven', args: { interval: s.interval }, fromBlock: log.blockNumber })
    for (const proof of proofs.filter((e) => e.args.readings).reverse()) {
      const tx = await p.client.getTransaction({ hash: proof.transactionHash })
      let words: readonly bigint[]
      try {
        const call = decodeFunctionData({ abi: auctionVerifierAbi, data: tx.input })
        if (call.functionName !== 'proveReadingForgery') continue
        words = call.args[6]
      } catch {
        continue // sent through another contract: not readable from its input
      }
      if (words.length !== 3 * s.siteRefs.length) continue
      const readings = s.siteRefs.map((ref, k) => unpackSettleReading(Number((ref >> 160n) & 0xffffffffn), words[3 * k]!, toHex(words[3 * k + 1]!, { size: 32 }), toHex(words[3 * k + 2]!, { size: 32 })))
      if (readingsBinding(readings) === bound) return readings
    }
    return null
  }

  async function checkReadings(step: DecodedStep, log: SteppedLog) {
    const s = step.settle
    if (s.siteRefs.length === 0 || !p.provable(s.interval)) return
    const current = await boundReadings(s, log)
    if (current === null) return
    const fixed = [...current]
    const fixable: number[] = []
    const unproven: number[] = []
    for (const [k, reading] of current.entries()) {
      if (reading === null || (await readingSignedBy(p.domain, reading, s.siteRefs[k]!))) continue
      const id = Number((s.siteRefs[k]! >> 160n) & 0xffffffffn)
      const own = id === p.siteId ? p.ownReading(s.interval) : p.peerReading(s.interval, id)
      if (own && own.interval === s.interval && (await readingSignedBy(p.domain, own, s.siteRefs[k]!))) {
        fixed[k] = own
        fixable.push(id)
      } else unproven.push(id)
    }
    const sites = (ids: number[]) => `site${ids.length > 1 ? 's' : ''} ${ids.join(', ')}`
    if (unproven.length > 0)
      p.report(s.interval, `forged reading${unproven.length > 1 ? 's' : ''} of ${sites(unproven)} settled by step ${log.transactionHash}; this site holds no meter-signed reading to replace ${unproven.length > 1 ? 'them' : 'it'} with, so it cannot prove it (the site itself can, or a peer it published to)`, true, log.transactionHash)
    if (fixable.length === 0) return
    // a proof fixes what this site can; a forged reading it cannot fix stays for another proof
    const { releasesHash } = buildFinalization({ clearing: s, siteRefs: s.siteRefs, readings: current, penaltyBps: p.penaltyBps })
    p.prove(`forgery-readings:${s.interval}:${fixable.join('-')}`, { to: p.verifier, data: encodeFunctionData({ abi: auctionVerifierAbi, functionName: 'proveReadingForgery', args: readingForgeryArgs({ clearing: s, siteRefs: s.siteRefs, stepped: current, releasesHash, fixed }) }) })
    p.report(s.interval, `forged reading${fixable.length > 1 ? 's' : ''} of ${sites(fixable)} settled by step ${log.transactionHash}: not signed by the meter; proving it on chain with the meter's own reading`, true, log.transactionHash)
  }

  return {
    /** Reads the steps mined since the last poll; a failed RPC call leaves them for the next poll. */
    async poll(): Promise<void> {
      // uncached: viem keeps a block number for its polling interval
      const latest = await p.client.getBlockNumber({ cacheTime: 0 })
      // in ranges a public RPC serves (many cap eth_getLogs at 10 000 blocks)
      while (next <= latest) {
        const to = latest - next >= MAX_LOG_RANGE ? next + MAX_LOG_RANGE - 1n : latest
        const logs = (await p.client.getContractEvents({ address: p.market, abi: energyMarketAbi, eventName: 'Stepped', fromBlock: next, toBlock: to })) as unknown as SteppedLog[]
        const steps: [DecodedStep, SteppedLog][] = []
        for (const log of logs) {
          // a step whose committed and settled intervals are past their dispute windows can no
          // longer be proven wrong: not fetched (a restart reads back many blocks)
          const { committedInterval, settledAndFinalized } = log.args
          const settledInterval = settledAndFinalized === undefined ? null : steppedIntervals(settledAndFinalized).settled
          if (committedInterval !== undefined && !p.provable(committedInterval) && (settledInterval === null || !p.provable(settledInterval))) continue
          const step = await read(log)
          if (step) steps.push([step, log])
        }
        for (const [step] of steps) if (step.settle.siteRefs.length > 0) settled.set(step.settle.interval, step.settle)
        for (const [step, log] of steps) {
          await checkOrders(step, log)
          await checkReadings(step, log)
        }
        next = to + 1n
        // a settlement is needed only while its interval can still be proven (the ring's span)
        for (const interval of settled.keys()) if (settled.size > 512) settled.delete(interval)
      }
    },
  }
}

export type StepWatch = ReturnType<typeof createStepWatch>
