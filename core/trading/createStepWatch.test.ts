// The step watch on a fake chain: a step it cannot read from its transaction's input (routed
// through another contract, or not a step at all) is an alarm, not a silent skip: an honest
// operator sends its steps to the market directly, and a hidden step cannot be checked.
import { encodeFunctionData, type Address, type Hex, type PublicClient } from 'viem'
import { describe, expect, it } from 'vitest'
import { energyMarketAbi } from '../../contracts/abi.ts'
import { encodeStep } from '../chain/stepMarket.ts'
import { createStepWatch } from './createStepWatch.ts'

const market: Address = '0x00000000000000000000000000000000000000aa'
const proxy: Address = '0x00000000000000000000000000000000000000bb'
const hash: Hex = `0x${'cd'.repeat(32)}`
const empty = { finals: [], settle: { clearing: { interval: 0n, price: 0n, matches: [] }, siteRefs: [], readings: [] }, commit: { interval: 7n, price: 1n, siteIds: [], orders: [], matches: [] } }

function watchOf(tx: { to: Address | null; input: Hex }, provable: (interval: bigint) => boolean = () => true) {
  const reports: { interval: bigint; detail: string; forged: boolean }[] = []
  let fetched = 0
  const client = {
    getBlockNumber: async () => 10n,
    getContractEvents: async () => [{ transactionHash: hash, blockNumber: 9n, args: { committedInterval: 7n, settledAndFinalized: 5n } }],
    getTransaction: async () => {
      fetched++
      return tx
    },
  } as unknown as PublicClient
  const watch = createStepWatch({
    client,
    market,
    verifier: proxy,
    domain: { name: 'GridMesh Market', version: '1', chainId: 31337, verifyingContract: market },
    penaltyBps: 2_000n,
    fromBlock: 0n,
    siteId: 1,
    ownReading: () => null,
    peerReading: () => null,
    provable,
    prove: () => {
      throw new Error('nothing to prove')
    },
    report: (interval, detail, forged) => void reports.push({ interval, detail, forged }),
  })
  return { watch, reports, fetched: () => fetched }
}

describe('createStepWatch', () => {
  it('raises a step sent through another contract: its calldata is hidden from every site', async () => {
    const { watch, reports } = watchOf({ to: proxy, input: '0x12345678' })
    await watch.poll()
    expect(reports).toEqual([{ interval: 7n, forged: true, detail: `step ${hash} was not sent to the market directly (to ${proxy}): the orders and readings it carried are not in the transaction's input, so no site can check or prove them` }])
  })

  it('raises a step whose data does not decode, naming why', async () => {
    const input = encodeFunctionData({ abi: energyMarketAbi, functionName: 'marketStep' })
    const { watch, reports } = watchOf({ to: market, input: `${input}${encodeStep(empty).slice(2, -64)}` })
    await watch.poll()
    expect(reports).toHaveLength(1)
    expect(reports[0]).toMatchObject({ interval: 7n, forged: true, detail: expect.stringMatching(/cannot be read: .*step data/) })
  })

  it('reads an empty step to the market and raises nothing', async () => {
    const input = encodeFunctionData({ abi: energyMarketAbi, functionName: 'marketStep' })
    const { watch, reports } = watchOf({ to: market, input: `${input}${encodeStep(empty).slice(2)}` })
    await watch.poll()
    expect(reports).toEqual([])
  })

  it('does not fetch a step whose intervals are past their dispute windows (nothing left to prove)', async () => {
    const past = watchOf({ to: proxy, input: '0x12345678' }, () => false)
    await past.watch.poll()
    expect([past.fetched(), past.reports]).toEqual([0, []])
    // the settled interval (5) still provable: fetched and checked
    const settling = watchOf({ to: proxy, input: '0x12345678' }, (i) => i === 5n)
    await settling.watch.poll()
    expect(settling.fetched()).toBe(1)
    expect(settling.reports).toHaveLength(1)
  })
})
