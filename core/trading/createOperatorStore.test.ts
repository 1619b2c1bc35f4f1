import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { LiveMessage } from '../market/live/liveMessageSchema.ts'
import { createOperatorStore, type OperatorInterval } from './createOperatorStore.ts'

const r = `0x${'11'.repeat(32)}` as const
const vs = `0x${'22'.repeat(32)}` as const
const order = (siteId: number, energyWh: number): Extract<LiveMessage, { kind: 'order' }> => ({ v: 1, kind: 'order', body: { siteId, interval: 7n, side: 0, energyWh, limitPrice: 300_000n, deadline: 4_200n }, r, vs }) as never

describe('createOperatorStore', () => {
  it('keeps the first accepted order or reading per (site, interval) and the interval records, across a reopen', () => {
    const dir = mkdtempSync(join(tmpdir(), 'op-store-'))
    const a = createOperatorStore(dir)
    a.keep(order(2, 300))
    a.keep(order(1, 500))
    a.keep(order(2, 999)) // a second one for site 2: the first stays
    a.keep({ v: 1, kind: 'reading', body: { siteId: 1, interval: 7n, importWh: 0, exportWh: 480 }, r, vs } as never)
    const record = { interval: 7n, orders: a.orders(7n), clearing: { interval: 7n, price: 190_000n, matches: [], tradedWh: 0 }, clearingMessage: null, commit: null, siteRefs: [1n << 200n], commitTx: null, commitFailed: null, settles: [], settled: null, finalizes: [], finalizeTx: null, expired: false } as unknown as OperatorInterval
    a.put(record)
    a.put({ ...record, interval: 3n })
    a.close()
    const b = createOperatorStore(dir)
    expect(b.orders(7n).map((o) => [o.siteId, o.energyWh, o.limitPrice])).toEqual([[1, 500, 300_000n], [2, 300, 300_000n]])
    expect(b.readings(7n)).toEqual([{ siteId: 1, interval: 7n, importWh: 0, exportWh: 480, r, vs }])
    expect(b.orders(8n)).toEqual([])
    expect(b.get(7n)).toEqual(record)
    expect(b.get(9n)).toBeNull()
    expect(b.list().map((x) => x.interval)).toEqual([3n, 7n])
    expect(b.list(4n).map((x) => x.interval)).toEqual([7n])
    expect(b.list(-2n).map((x) => x.interval)).toEqual([3n, 7n])
    b.close()
  })
})
