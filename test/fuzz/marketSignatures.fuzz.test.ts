// Signed orders and meter readings under fuzz: what signOrder/signMeterReading produce
// (EIP-712 over marketTypes, EIP-2098 compact r/vs) recovers to the signer, and any
// change to a field or a bit of the signature recovers to someone else or is refused.
import fc from 'fast-check'
import { compactSignatureToSignature, recoverTypedDataAddress, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { signMeterReading, signOrder } from '../../core/market/signMarketData.ts'
import { createMarketDomain, marketTypes } from '../../core/market/typedData.ts'
import { fuzzSeed } from './fuzzSeed.ts'

// A fixed test key (not a secret): the fuzz run is reproducible from its seed.
const account = privateKeyToAccount(`0x${'11'.repeat(32)}`)
const domain = createMarketDomain(31337, `0x${'12'.repeat(20)}`)
const uint32 = fc.integer({ min: 0, max: 2 ** 32 - 1 })
const uint64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })
const order = fc.record({ siteId: uint32, interval: uint64, side: fc.constantFrom(0 as const, 1 as const), energyWh: uint32, limitPrice: uint64, deadline: uint64 })
const reading = fc.record({ siteId: uint32, interval: uint64, importWh: uint32, exportWh: uint32 })

async function recover(primaryType: 'Order' | 'MeterReading', message: Record<string, unknown>, r: Hex, vs: Hex): Promise<string | null> {
  try {
    const signature = compactSignatureToSignature({ r, yParityAndS: vs })
    return await recoverTypedDataAddress({ domain, types: marketTypes, primaryType, message: message as never, signature })
  } catch {
    return null // refused by the signature codec (viem's own named errors): not the signer either
  }
}

const flipBit = (hex: Hex, bit: number): Hex => {
  const value = BigInt(hex) ^ (1n << BigInt(bit % 256))
  return `0x${value.toString(16).padStart(64, '0')}`
}

describe('signed orders and readings under fuzz', { timeout: 120_000 }, () => {
  it('recover to the signer, and a changed field or signature bit does not', async () => {
    process.stdout.write(`fuzz market-signatures: seed ${fuzzSeed}\n`)
    await fc.assert(
      fc.asyncProperty(fc.oneof(order.map((o) => ({ kind: 'Order' as const, value: o })), reading.map((r) => ({ kind: 'MeterReading' as const, value: r }))), fc.nat(), fc.nat(255), async (item, pick, bit) => {
        const signed = item.kind === 'Order' ? await signOrder(account, domain, item.value) : await signMeterReading(account, domain, item.value)
        const { r, vs, ...message } = signed
        expect(await recover(item.kind, message, r, vs)).toBe(account.address)
        const keys = Object.keys(message) as (keyof typeof message)[]
        const key = keys[pick % keys.length]!
        const field = message[key] as number | bigint
        const changed = { ...message, [key]: typeof field === 'bigint' ? (field === 0n ? 1n : field - 1n) : field === 0 ? 1 : field - 1 }
        expect(await recover(item.kind, changed, r, vs)).not.toBe(account.address)
        expect(await recover(item.kind, message, flipBit(r, bit), vs)).not.toBe(account.address)
        expect(await recover(item.kind, message, r, flipBit(vs, bit))).not.toBe(account.address)
      }),
      { seed: fuzzSeed, numRuns: 25, timeout: 10_000 },
    )
  })
})
