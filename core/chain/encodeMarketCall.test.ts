import { decodeFunctionData, toFunctionSelector } from 'viem'
import { describe, expect, it } from 'vitest'
import { energyMarketAbi } from '../../contracts/abi.ts'
import type { EncodedClearing } from '../market/encodeClearing.ts'
import { buildFinalization, clearingHashOf } from './buildFinalization.ts'
import { encodeMarketCall } from './encodeMarketCall.ts'
import { decodeStep, encodeStep } from './stepMarket.ts'

const r = `0x${'11'.repeat(32)}` as const
const vs = `0x${'22'.repeat(32)}` as const
const clearing: EncodedClearing = {
  interval: 12n,
  price: 190_000n,
  siteIds: [0, 1],
  orders: [
    { siteId: 0, interval: 12n, side: 1, energyWh: 500, limitPrice: 80_000n, deadline: 900n, r, vs },
    { siteId: 1, interval: 12n, side: 0, energyWh: 300, limitPrice: 300_000n, deadline: 900n, r, vs },
  ],
  matches: [(0n << 40n) | (1n << 32n) | 300n],
}

describe('encodeMarketCall', () => {
  it('encodes commit, settle, finalize and expire as the contract functions of the same arguments', () => {
    const commit = decodeFunctionData({ abi: energyMarketAbi, data: encodeMarketCall({ kind: 'commit', clearing }) })
    expect(commit.functionName).toBe('commitClearing')
    expect(commit.args?.slice(0, 2)).toEqual([12n, 190_000n])
    const settle = decodeFunctionData({ abi: energyMarketAbi, data: encodeMarketCall({ kind: 'settle', clearing, siteRefs: [5n, 6n], readings: [null, { siteId: 1, interval: 12n, importWh: 300, exportWh: 0, r, vs }] }) })
    expect(settle.functionName).toBe('settle')
    expect(settle.args?.slice(0, 4)).toEqual([12n, 190_000n, [5n, 6n], clearing.matches])
    const finalize = decodeFunctionData({ abi: energyMarketAbi, data: encodeMarketCall({ kind: 'finalize', finalization: { interval: 12n, inputsHash: r, releases: [1n] } }) })
    expect(finalize).toEqual({ functionName: 'finalize', args: [12n, r, [1n]] })
    const expire = decodeFunctionData({ abi: energyMarketAbi, data: encodeMarketCall({ kind: 'expire', clearing, siteRefs: [5n, 6n] }) })
    expect(expire).toEqual({ functionName: 'expire', args: [12n, 190_000n, [5n, 6n], clearing.matches] })
  })

  it("encodes a step as marketStep's selector and the packed step", () => {
    const step = { finals: [], settle: { clearing: { interval: 0n, price: 0n, matches: [] }, siteRefs: [], readings: [] }, commit: clearing }
    const data = encodeMarketCall({ kind: 'step', ...step })
    expect(data.slice(0, 10)).toBe(toFunctionSelector('marketStep()'))
    expect(data.slice(0, 10)).toBe('0x00b1a64f')
    expect(`0x${data.slice(10)}`).toBe(encodeStep(step))
  })

  it('refuses a step field that does not fit its bits, naming it (a finalized interval is 32 bits, as the contract reads it)', () => {
    const step = { finals: [], settle: { clearing: { interval: 0n, price: 0n, matches: [] }, siteRefs: [], readings: [] }, commit: clearing }
    const final = { interval: 1n << 32n, inputsHash: r, releases: [] }
    expect(() => encodeStep({ ...step, finals: [final] })).toThrow(/step: finalized interval.*below 2\^32/)
    expect(() => encodeStep({ ...step, finals: [{ ...final, interval: (1n << 32n) - 1n }] })).not.toThrow()
  })

  it('decodes a step back into what it finalizes, settles and commits (what a watching site reads), and names data that is not a step', () => {
    const reading = { siteId: 1, interval: 11n, importWh: 300, exportWh: 0, r, vs }
    const step = {
      finals: [{ interval: 9n, inputsHash: vs, releases: [(1n << 64n) | 42n, 7n] }],
      settle: { clearing: { interval: 11n, price: 150_000n, matches: [(0n << 40n) | (1n << 32n) | 300n] }, siteRefs: [0n << 160n, 1n << 160n], readings: [null, reading] },
      commit: clearing,
      penaltyBps: 2_000n,
    }
    const data = encodeStep(step)
    // the settle part names the clearing by its hash and carries the releases the readings give
    const settlement = buildFinalization({ ...step.settle, penaltyBps: step.penaltyBps })
    expect(settlement.releases.map((w) => w >> 64n)).toEqual([0n, 1n])
    expect(decodeStep(data)).toEqual({
      finals: step.finals,
      settle: { interval: 11n, clearingHash: clearingHashOf(step.settle.clearing, step.settle.siteRefs), releases: settlement.releases, readings: [null, reading] },
      commit: { interval: 12n, price: 190_000n, siteIds: [0, 1], orders: clearing.orders, matches: clearing.matches },
    })
    // the releases a (dishonest) operator sends instead ride as given: a watching site proves them wrong
    expect(decodeStep(encodeStep({ ...step, settle: { ...step.settle, releases: [1n << 64n, 5n] } })).settle.releases).toEqual([1n << 64n, 5n])
    expect(() => encodeStep({ ...step, penaltyBps: undefined })).toThrow(/step: penaltyBps.*penalty rate/)
    expect(() => encodeStep({ ...step, settle: { ...step.settle, releases: [1n] } })).toThrow(/step: releases.*one per settled site \(2\)/)
    expect(() => decodeStep(`0x${data.slice(2, -64)}`)).toThrow(/step data.*a word for a committed match/)
    expect(() => decodeStep(`${data}${'00'.repeat(32)}`)).toThrow(/step data.*words/)
    expect(() => decodeStep(`${data}00`)).toThrow(/step data.*whole 32-byte words/)
  })
})
