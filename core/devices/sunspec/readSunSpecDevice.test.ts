import { describe, expect, it } from 'vitest'
import { createModbusClient } from '../modbus/createModbusClient.ts'
import type { ModbusTransport } from '../modbus/ModbusTransport.ts'
import { ModbusExceptionError } from '../modbus/errors.ts'
import { layoutModel } from './layoutModel.ts'
import { encodeRaw } from './pointCodec.ts'
import { discoverSunSpec, readSunSpecModels, SunSpecDiscoveryError } from './readSunSpecDevice.ts'

/** A transport over a register map held in memory; absent registers answer exception 2. */
function memoryTransport(registers: Map<number, number>): ModbusTransport & { reads: number[] } {
  const reads: number[] = []
  return {
    endpoint: 'memory',
    queued: 0,
    reads,
    async request(unitId, pdu, { address }) {
      const count = pdu.readUInt16BE(3)
      reads.push(address)
      const out = Buffer.alloc(2 + count * 2)
      out[0] = 3
      out[1] = count * 2
      for (let i = 0; i < count; i++) {
        const v = registers.get(address + i)
        if (v === undefined) throw new ModbusExceptionError({ endpoint: 'memory', unitId, functionCode: 3, code: 2, address })
        out.writeUInt16BE(v, 2 + i * 2)
      }
      return out
    },
    async close() {},
  }
}

function image(base: number, models: { id: number; length?: number; values?: Record<string, number | string> }[], end = true) {
  const map = new Map<number, number>([[base, 0x5375], [base + 1, 0x6e53]])
  let address = base + 2
  for (const m of models) {
    const length = m.length ?? layoutModel(m.id).length
    const words = new Uint16Array(length + 2)
    words[0] = m.id
    words[1] = length
    if (m.values) {
      const layout = layoutModel(m.id)
      for (const [path, value] of Object.entries(m.values)) {
        const p = layout.byPath.get(path)!
        encodeRaw(p.definition.type, value, words, p.offset, p.registers)
      }
    }
    words.forEach((w, i) => map.set(address + i, w))
    address += length + 2
  }
  if (end) {
    map.set(address, 0xffff)
    map.set(address + 1, 0)
  }
  return map
}

describe('discoverSunSpec', () => {
  it('tries 40000, then 50000, then 0, and lists a model it does not know without failing', async () => {
    const transport = memoryTransport(image(0, [{ id: 1 }, { id: 64_500, length: 6 }, { id: 103, values: { W: 1234, W_SF: 0 } }]))
    const client = createModbusClient(transport)
    const found = await discoverSunSpec(client, 1)
    expect(found?.base).toBe(0)
    expect(transport.reads.slice(0, 3)).toEqual([40000, 50000, 0])
    expect(found!.models.map((m) => [m.id, m.known])).toEqual([[1, true], [64_500, false], [103, true]])
    const models = await readSunSpecModels(client, found!)
    expect(models.map((m) => m.id)).toEqual([1, 103])
    expect(models[1]!.points.get('W')!.value).toBe(1234)
  })

  it('returns null when no base carries the marker', async () => {
    const client = createModbusClient(memoryTransport(new Map([[40000, 1], [40001, 2]])))
    expect(await discoverSunSpec(client, 1)).toBeNull()
  })

  it('names a chain that never ends', async () => {
    const client = createModbusClient(memoryTransport(image(40000, Array.from({ length: 70 }, () => ({ id: 64_999, length: 0 })), true)))
    await expect(discoverSunSpec(client, 1)).rejects.toThrow(SunSpecDiscoveryError)
    await expect(discoverSunSpec(client, 1)).rejects.toThrow(/more than 64 models after base 40000; the chain does not end/)
  })

  it('decodes a sentinel as null and a value whose scale factor is absent as null', async () => {
    const client = createModbusClient(memoryTransport(image(40000, [{ id: 103, values: { W: 0x8000 - 0x10000, Hz: 5001, Hz_SF: -0x8000, A: 12, A_SF: -1 } }])))
    const [model] = await readSunSpecModels(client, (await discoverSunSpec(client, 1))!)
    expect(model!.points.get('W')!.value).toBeNull()
    expect(model!.points.get('Hz')!.value).toBeNull()
    expect(model!.points.get('A')!.value).toBe(1.2)
  })
})
