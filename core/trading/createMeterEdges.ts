import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { z } from 'zod'

const edgeSchema = z.strictObject({ interval: z.string().regex(/^\d+$/), atMs: z.number(), importWh: z.number(), exportWh: z.number() })
const fileSchema = z.strictObject({ version: z.literal(1), edges: z.array(edgeSchema) })

export type MeterEdge = { interval: bigint; atMs: number; importWh: number; exportWh: number }

/**
 * The grid meter's energy counters as sampled at the start of each market interval, kept
 * in a file (written atomically) so a site restarted in the middle of an interval still
 * knows where the interval began: its reading is the difference of two edges.
 */
export function createMeterEdges({ path, keep = 96 }: { path: string; keep?: number }) {
  const edges = new Map<bigint, MeterEdge>()
  if (existsSync(path)) {
    let json: unknown = null
    try {
      json = JSON.parse(readFileSync(path, 'utf8'))
    } catch {
      json = null // written by rename, so never torn; an unreadable file is treated as the one below
    }
    const parsed = fileSchema.safeParse(json)
    // a file this version cannot read loses only the edges it held: the readings of the interval in progress
    if (parsed.success) for (const e of parsed.data.edges) edges.set(BigInt(e.interval), { ...e, interval: BigInt(e.interval) })
  }
  const save = () => {
    mkdirSync(dirname(path), { recursive: true })
    const tmp = `${path}.${process.pid}.tmp`
    const sorted = [...edges.values()].sort((a, b) => (a.interval < b.interval ? -1 : 1)).slice(-keep)
    writeFileSync(tmp, JSON.stringify({ version: 1, edges: sorted.map((e) => ({ ...e, interval: e.interval.toString() })) }) + '\n')
    renameSync(tmp, path)
  }
  return {
    /** Records the counters at the start of `interval` (the first sample wins: the edge is when the interval began). */
    record(edge: MeterEdge): void {
      if (edges.has(edge.interval)) return
      edges.set(edge.interval, edge)
      save()
    },
    has: (interval: bigint) => edges.has(interval),
    /** The energy through the meter over `interval`, from its start edge to the next; null when either edge is missing. */
    delta(interval: bigint): { importWh: number; exportWh: number } | null {
      const from = edges.get(interval)
      const to = edges.get(interval + 1n)
      if (!from || !to) return null
      const importWh = Math.round(to.importWh - from.importWh)
      const exportWh = Math.round(to.exportWh - from.exportWh)
      // a counter that ran backwards (a meter reset or replaced) gives no reading anyone could check
      return importWh < 0 || exportWh < 0 ? null : { importWh, exportWh }
    },
  }
}

export type MeterEdges = ReturnType<typeof createMeterEdges>
