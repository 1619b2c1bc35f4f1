import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createMeterEdges } from './createMeterEdges.ts'

describe('createMeterEdges', () => {
  it('gives an interval its counters’ differences from its start edge to the next, also after a restart between the two', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'edges-')), 'market', 'meter-edges.json')
    const before = createMeterEdges({ path })
    before.record({ interval: 7n, atMs: 1_000, importWh: 1_000.4, exportWh: 50 })
    // a second sample of the same edge (a later tick) does not move it
    before.record({ interval: 7n, atMs: 2_000, importWh: 1_020, exportWh: 50 })
    expect(before.delta(7n)).toBeNull()
    const after = createMeterEdges({ path })
    after.record({ interval: 8n, atMs: 61_000, importWh: 1_100, exportWh: 80.6 })
    expect(after.delta(7n)).toEqual({ importWh: 100, exportWh: 31 })
    expect(after.delta(8n)).toBeNull()
  })

  it('gives no reading when a counter ran backwards (a meter reset), and starts empty on a file it cannot read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'edges-'))
    const edges = createMeterEdges({ path: join(dir, 'e.json') })
    edges.record({ interval: 1n, atMs: 0, importWh: 500, exportWh: 0 })
    edges.record({ interval: 2n, atMs: 60_000, importWh: 10, exportWh: 0 })
    expect(edges.delta(1n)).toBeNull()
    writeFileSync(join(dir, 'bad.json'), '{"version": 9')
    expect(createMeterEdges({ path: join(dir, 'bad.json') }).has(1n)).toBe(false)
  })
})
