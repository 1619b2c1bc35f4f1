// A step (marketStep) commits and settles without checking signatures: it binds the orders and
// readings it sent (EnergyMarket._orderSigs, _readingSigs), and a forged one is proven in
// AuctionVerifier within the dispute window, paid out of the operator's bond. That is safe only
// if someone reads every step. This is that reader, run by every trading site: it decodes each
// step's calldata and checks
// - every committed order against its site owner's key (a forged order of any site is proven:
//   the proof pays the wronged site's owner, whoever sends it);
// - every settled reading against its meter's key; a forged one is proven with the meter's own
//   signed reading: this site's from its signing journal, a peer's from the broker;
// - every settlement's releases against the settlement of its readings (a step binds the
//   operator's releases unchecked); wrong ones are proven, and the interval settled again.
// A step's settle part names its clearing by hash: the clearing is the one the watch read
// from the step (or commitClearing) that committed the interval.
import { concatHex, decodeFunctionData, encodeAbiParameters, encodeFunctionData, encodePacked, keccak256, slice, toFunctionSelector, toHex, type Address, type Hex, type Log, type PublicClient } from 'viem'
import { auctionVerifierAbi, energyMarketAbi } from '../../contracts/abi.ts'
import { buildFinalization, clearingHashOf } from '../chain/buildFinalization.ts'
import { orderForgeryArgs, orderSignedBy, readingForgeryArgs, readingSignedBy, settlementProofArgs } from '../chain/proveForgery.ts'
import { decodeStep, steppedIntervals, type DecodedStep } from '../chain/stepMarket.ts'
import { packSettleReading, packSiteRef, unpackOrder, unpackSettleReading } from '../market/encodeClearing.ts'
import type { SignedMeterReading } from '../market/signMarketData.ts'
import type { MarketDomain } from '../market/typedData.ts'

const STEP_SELECTOR = toFunctionSelector('marketStep()')
const MAX_LOG_RANGE = 5_000n
const STATUS_SETTLED = 2n

/** The settled record's hash (EnergyMarket._releases): keccak256(inputsHash, releasesHash). */
const recordHash = (inputsHash: Hex, releasesHash: Hex) => BigInt(keccak256(encodeAbiParameters([{ type: 'bytes32' }, { type: 'bytes32' }], [inputsHash, releasesHash])))
const siteOf = (ref: bigint) => Number((ref >> 160n) & 0xffffffffn)

/** A committed clearing as its commit snapshotted it: what a step's settle part names by hash. */
type Committed = { clearing: { interval: bigint; price: bigint; matches: bigint[] }; siteRefs: bigint[]; owners: Address[]; hash: Hex }
/** What a settled interval's releases should be: buildFinalization of its bound readings. */
type Settlement = ReturnType<typeof buildFinalization>

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
  /** sends a proof to AuctionVerifier once per key (the outbox); a key is `forgery-orders:<interval>`, `forgery-readings:<interval>:<site ids>` or `settlement:<interval>` */
  prove: (key: string, tx: { to: Address; data: Hex }) => void
  /** what the watch found; `forged` (alarm-worthy): a forgery, proven or not, or a step whose calldata cannot be read */
  report: (interval: bigint, detail: string, forged: boolean, tx: Hex) => void
}

type SteppedLog = Log<bigint, number, false> & { transactionHash: Hex; blockNumber: bigint; args: { committedInterval?: bigint; clearingHash?: Hex; settledAndFinalized?: bigint } }

/** Reads every step from `fromBlock` on, once; `poll()` reads the new ones. */
export function createStepWatch(p: StepWatchParameters) {
  let next = p.fromBlock
  /** the settle part of each step read so far, by interval: a proof for an interval already settled names its settlement */
  const settled = new Map<bigint, DecodedStep['settle']>()
  /** each commit read so far, by interval */
  const commits = new Map<bigint, Committed>()

  /** The site refs and owners a commit snapshotted at its block; null when they do not hash to the logged clearing hash. */
  async function snapshot(c: DecodedStep['commit'], blockNumber: bigint, clearingHash: Hex | undefined): Promise<Committed | null> {
    const sites = await Promise.all(c.siteIds.map((id) => p.client.readContract({ address: p.market, abi: energyMarketAbi, functionName: 'site', args: [id], blockNumber })))
    const siteRefs = c.siteIds.map((id, k) => packSiteRef(id, sites[k]![1], c.orders[k]!))
    const hash = clearingHashOf(c, siteRefs)
    if (clearingHash !== undefined && hash !== clearingHash) return null
    return { clearing: { interval: c.interval, price: c.price, matches: [...c.matches] }, siteRefs, owners: sites.map((s) => s[0].owner), hash }
  }

  /** The clearing of `interval` when no step this watch read committed it (it started later):
   * the last commitClearing or step that committed it within MAX_LOG_RANGE blocks before `log`. */
  async function earlierCommit(interval: bigint, log: SteppedLog): Promise<Committed | null> {
    const range = { fromBlock: log.blockNumber > MAX_LOG_RANGE ? log.blockNumber - MAX_LOG_RANGE : 0n, toBlock: log.blockNumber }
    const [standalone, stepped] = await Promise.all([
      p.client.getContractEvents({ address: p.market, abi: energyMarketAbi, eventName: 'ClearingCommitted', args: { interval }, ...range }),
      p.client.getContractEvents({ address: p.market, abi: energyMarketAbi, eventName: 'Stepped', args: { committedInterval: interval }, ...range }),
    ])
    const event = [...standalone, ...stepped].sort((a, b) => Number(a.blockNumber - b.blockNumber) || a.logIndex - b.logIndex).at(-1)
    if (!event) return null
    try {
      const input = (await p.client.getTransaction({ hash: event.transactionHash })).input
      if (event.eventName === 'Stepped') {
        if (slice(input, 0, 4) !== STEP_SELECTOR) return null
        return await snapshot(decodeStep(slice(input, 4)).commit, event.blockNumber, event.args.clearingHash)
      }
      const call = decodeFunctionData({ abi: energyMarketAbi, data: input })
      if (call.functionName !== 'commitClearing') return null
      const [, price, signed, matches] = call.args
      const orders = signed.map((o) => unpackOrder(o.meta, o.r, o.vs))
      return await snapshot({ interval, price, siteIds: orders.map((o) => o.siteId), orders, matches: [...matches] }, event.blockNumber, event.args.clearingHash)
    } catch {
      return null // not readable from its input (sent through a contract): the step that carried it was reported
    }
  }

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
    const committed = commits.get(c.interval)
    if (c.orders.length === 0 || !p.provable(c.interval) || !committed) return
    const { owners, siteRefs } = committed
    const forged: number[] = []
    for (const [k, order] of c.orders.entries()) if (!(await orderSignedBy(p.domain, order, owners[k]!))) forged.push(order.siteId)
    // proven already (by another site, or by this one before a restart): nothing left to do
    if (forged.length === 0 || (await p.client.readContract({ address: p.verifier, abi: auctionVerifierAbi, functionName: 'ordersProven', args: [c.interval] }))) return
    const s = settled.get(c.interval)
    const settlement = s
      ? { metasHash: buildFinalization({ clearing: c, siteRefs, readings: s.readings, penaltyBps: p.penaltyBps }).metasHash, releasesHash: keccak256(encodePacked(['uint256[]'], [s.releases])) }
      : undefined
    p.prove(`forgery-orders:${c.interval}`, { to: p.verifier, data: encodeFunctionData({ abi: auctionVerifierAbi, functionName: 'proveOrderForgery', args: orderForgeryArgs({ clearing: c, siteRefs, owners, settlement }) }) })
    p.report(c.interval, `forged order${forged.length > 1 ? 's' : ''} of site${forged.length > 1 ? 's' : ''} ${forged.join(', ')} committed by step ${log.transactionHash}: not signed by the site's owner; proving it on chain`, true, log.transactionHash)
  }

  /**
   * The readings of a settled interval as the market binds them now: the step's, or, once a
   * reading proof re-settled it, the `fixed` list of the last such proof (read from its
   * transaction). Null when the binding is neither (its ring slot has moved on).
   */
  async function boundReadings(s: DecodedStep['settle'], siteRefs: readonly bigint[], log: SteppedLog): Promise<(SignedMeterReading | null)[] | null> {
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
      if (words.length !== 3 * siteRefs.length) continue
      const readings = siteRefs.map((ref, k) => unpackSettleReading(siteOf(ref), words[3 * k]!, toHex(words[3 * k + 1]!, { size: 32 }), toHex(words[3 * k + 2]!, { size: 32 })))
      if (readingsBinding(readings) === bound) return readings
    }
    return null
  }

  /** Checks a step's readings and releases. */
  async function checkSettlement(step: DecodedStep, log: SteppedLog) {
    const s = step.settle
    if (s.releases.length === 0 || !p.provable(s.interval)) return
    const c = commits.get(s.interval) ?? (await earlierCommit(s.interval, log))
    if (!c || c.siteRefs.length !== s.releases.length || c.hash !== s.clearingHash) {
      p.report(s.interval, `step ${log.transactionHash} settled interval ${s.interval}, whose commit this site has not read: its readings and releases are not checked`, false, log.transactionHash)
      return
    }
    // the readings' site ids are the clearing's (a release word's id is the operator's claim)
    const stepped = s.readings.map((rd, k) => rd && { ...rd, siteId: siteOf(c.siteRefs[k]!) })
    const current = await boundReadings({ ...s, readings: stepped }, c.siteRefs, log)
    if (current === null) return
    const right = buildFinalization({ clearing: c.clearing, siteRefs: c.siteRefs, readings: current, penaltyBps: p.penaltyBps })
    if (await checkReadings(s, c, current, right, log)) return
    await checkReleases(s, c, current, right, log)
  }

  /** Whether a reading proof was sent (its re-settlement computes the releases, so they need no proof of their own). */
  async function checkReadings(s: DecodedStep['settle'], committed: Committed, current: (SignedMeterReading | null)[], right: Settlement, log: SteppedLog): Promise<boolean> {
    const { clearing, siteRefs } = committed
    const fixed = [...current]
    const fixable: number[] = []
    const unproven: number[] = []
    for (const [k, reading] of current.entries()) {
      if (reading === null || (await readingSignedBy(p.domain, reading, siteRefs[k]!))) continue
      const id = siteOf(siteRefs[k]!)
      const own = id === p.siteId ? p.ownReading(s.interval) : p.peerReading(s.interval, id)
      if (own && own.interval === s.interval && (await readingSignedBy(p.domain, own, siteRefs[k]!))) {
        fixed[k] = own
        fixable.push(id)
      } else unproven.push(id)
    }
    const sites = (ids: number[]) => `site${ids.length > 1 ? 's' : ''} ${ids.join(', ')}`
    if (unproven.length > 0)
      p.report(s.interval, `forged reading${unproven.length > 1 ? 's' : ''} of ${sites(unproven)} settled by step ${log.transactionHash}; this site holds no meter-signed reading to replace ${unproven.length > 1 ? 'them' : 'it'} with, so it cannot prove it (the site itself can, or a peer it published to)`, true, log.transactionHash)
    if (fixable.length === 0) return false
    // a proof fixes what this site can; a forged reading it cannot fix stays for another proof
    const releasesHash = await boundReleasesHash(s, right)
    if (releasesHash === null) return false
    p.prove(`forgery-readings:${s.interval}:${fixable.join('-')}`, { to: p.verifier, data: encodeFunctionData({ abi: auctionVerifierAbi, functionName: 'proveReadingForgery', args: readingForgeryArgs({ clearing, siteRefs, stepped: current, releasesHash, fixed }) }) })
    p.report(s.interval, `forged reading${fixable.length > 1 ? 's' : ''} of ${sites(fixable)} settled by step ${log.transactionHash}: not signed by the meter; proving it on chain with the meter's own reading`, true, log.transactionHash)
    return true
  }

  /**
   * The releases hash the market binds now for the bound readings (whose settlement is
   * `right`): the settlement's (a re-settlement computes it) or the step's; null when neither
   * matches the record (it is no longer settled, or its ring slot moved on).
   */
  async function boundReleasesHash(s: DecodedStep['settle'], right: Settlement): Promise<Hex | null> {
    const rec = await p.client.readContract({ address: p.market, abi: energyMarketAbi, functionName: 'clearingRecord', args: [s.interval] })
    if ((rec & 0xffn) !== STATUS_SETTLED || ((rec >> 32n) & 0xffffffffn) !== s.interval) return null
    const stepped = keccak256(encodePacked(['uint256[]'], [s.releases]))
    for (const h of [right.releasesHash, stepped]) if (recordHash(right.inputsHash, h) >> 64n === rec >> 64n) return h
    return null
  }

  /** Proves the step's releases wrong when the market still binds them and they are not the settlement of the readings. */
  async function checkReleases(s: DecodedStep['settle'], c: Committed, current: (SignedMeterReading | null)[], right: Settlement, log: SteppedLog) {
    const bound = await boundReleasesHash(s, right)
    if (bound === null || bound === right.releasesHash) return
    const wrong = c.siteRefs.flatMap((ref, k) => (s.releases[k] === right.releases[k] ? [] : [siteOf(ref)]))
    p.prove(`settlement:${s.interval}`, { to: p.verifier, data: encodeFunctionData({ abi: auctionVerifierAbi, functionName: 'proveSettlement', args: settlementProofArgs({ clearing: c.clearing, siteRefs: c.siteRefs, stepped: current, releases: s.releases }) }) })
    p.report(s.interval, `wrong release${wrong.length > 1 ? 's' : ''} of site${wrong.length > 1 ? 's' : ''} ${wrong.join(', ')} bound by step ${log.transactionHash}: not the settlement of the readings; proving it on chain`, true, log.transactionHash)
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
        for (const [step] of steps) if (step.settle.releases.length > 0) settled.set(step.settle.interval, step.settle)
        for (const [step, log] of steps) {
          if (step.commit.orders.length > 0 && p.provable(step.commit.interval)) {
            const committed = await snapshot(step.commit, log.blockNumber, log.args.clearingHash)
            if (committed) commits.set(step.commit.interval, committed)
            else p.report(step.commit.interval, `step ${log.transactionHash}: the site refs read at its block do not hash to its clearing hash (a key rotated in the same block?); its orders are not checked`, false, log.transactionHash)
          }
          await checkOrders(step, log)
          await checkSettlement(step, log)
        }
        next = to + 1n
        // a settlement is needed only while its interval can still be proven (the ring's span)
        for (const interval of settled.keys()) if (settled.size > 512) settled.delete(interval)
        for (const interval of commits.keys()) if (commits.size > 512) commits.delete(interval)
      }
    },
  }
}

export type StepWatch = ReturnType<typeof createStepWatch>
