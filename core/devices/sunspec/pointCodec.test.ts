import { describe, expect, it } from 'vitest'
import { decodeRaw, encodeRaw, isNotImplemented, notImplementedOf } from './pointCodec.ts'
import type { SunSpecPointType } from './loadModelDefinition.ts'

const roundTrip = (type: SunSpecPointType, value: number | bigint | string, size = 1) => {
  const words = new Uint16Array(16)
  encodeRaw(type, value, words, 3, size)
  return { words, value: decodeRaw(type, words, 3, size) }
}

describe('pointCodec', () => {
  it('round-trips signed and unsigned integers of every width', () => {
    expect(roundTrip('int16', -1234).value).toBe(-1234)
    expect(roundTrip('int32', -300000).value).toBe(-300000)
    expect(roundTrip('uint32', 4000000000).value).toBe(4000000000)
    expect(roundTrip('int64', -5n).value).toBe(-5n)
    expect(roundTrip('acc64', 2n ** 40n + 7n).value).toBe(2n ** 40n + 7n)
    expect(roundTrip('float32', 49.5).value).toBe(49.5)
  })

  it('puts the high word first (SunSpec is big-endian in both bytes and words)', () => {
    const { words } = roundTrip('uint32', 0x12345678)
    expect([words[3], words[4]]).toEqual([0x1234, 0x5678])
  })

  it('decodes strings two characters a register and stops at NUL', () => {
    const { words, value } = roundTrip('string', 'SunS', 4)
    expect([words[3], words[4]]).toEqual([0x5375, 0x6e53])
    expect(value).toBe('SunS')
  })

  it.each<[SunSpecPointType, number]>([
    ['int16', 1], ['uint16', 1], ['sunssf', 1], ['int32', 2], ['uint32', 2], ['acc32', 2], ['float32', 2], ['uint64', 4], ['string', 8],
  ])('recognises the not-implemented sentinel of %s', (type, size) => {
    const words = new Uint16Array(8)
    encodeRaw(type, notImplementedOf(type), words, 0, size)
    expect(isNotImplemented(type, decodeRaw(type, words, 0, size))).toBe(true)
  })

  it('does not mistake ordinary values for sentinels', () => {
    expect(isNotImplemented('int16', -32767)).toBe(false)
    expect(isNotImplemented('uint16', 0)).toBe(false)
    expect(isNotImplemented('float32', 0)).toBe(false)
  })
})
