import type { MeasuredSlot } from '../simulator/measureHistoryOnDevices.ts'
import type { CycleReport } from './createControlLoop.ts'

export type SlotMeans = { loadW: number; pvW: number; batteryW: number }

export type SlotHistory = ReturnType<typeof createSlotHistory>

/**
 * Slot means of the site's load, PV and battery power from the control loop's cycles, the
 * history the forecasts and the plans are made from. A slot is closed by the first cycle of
 * the next one. Load = grid + PV + battery, counted only from cycles where all of them
 * were read (a stale battery would make the load up).
 */
export function createSlotHistory(options: { slotMs: number; hasPv: boolean; seed?: readonly MeasuredSlot[] }) {
  const { slotMs } = options
  const closed = new Map<number, SlotMeans>()
  for (const s of options.seed ?? []) closed.set(s.startMs, { loadW: s.loadW, pvW: s.pvW, batteryW: 0 })
  let open: { startMs: number; load: number; pv: number; battery: number; n: number } | null = null
  let version = 0
  // A site without PV inverters has no PV, not an unknown amount of it.
  const sitePvW = (snap: CycleReport['snapshot']) => snap.pvW ?? (options.hasPv ? null : 0)

  return {
    sitePvW,
    /** Adds one cycle; returns the cycle's site load, PV and grid when it counted, else null. */
    add(report: CycleReport): { loadW: number; pvW: number; gridW: number } | null {
      const snap = report.snapshot
      const pvW = sitePvW(snap)
      if (snap.gridW === null || pvW === null || !snap.batteries.every((b) => !b.stale)) return null
      const batteryW = snap.batteries.reduce((s, b) => s + (b.powerW ?? 0), 0)
      const loadW = snap.gridW + pvW + batteryW
      const startMs = Math.floor(snap.timeMs / slotMs) * slotMs
      if (open && open.startMs !== startMs && open.n > 0) {
        closed.set(open.startMs, { loadW: open.load / open.n, pvW: open.pv / open.n, batteryW: open.battery / open.n })
        version++
      }
      if (!open || open.startMs !== startMs) open = { startMs, load: 0, pv: 0, battery: 0, n: 0 }
      open.load += loadW
      open.pv += pvW
      open.battery += batteryW
      open.n++
      return { loadW, pvW, gridW: snap.gridW }
    },
    /** Closed slots, oldest first. */
    slots(): (MeasuredSlot & { batteryW: number })[] {
      return [...closed].sort((a, b) => a[0] - b[0]).map(([startMs, m]) => ({ startMs, ...m }))
    },
    get: (startMs: number): SlotMeans | undefined => closed.get(startMs),
    /** The slot still filling (null before the first counted cycle). */
    open(): (MeasuredSlot & { batteryW: number; samples: number }) | null {
      return open && open.n > 0 ? { startMs: open.startMs, loadW: open.load / open.n, pvW: open.pv / open.n, batteryW: open.battery / open.n, samples: open.n } : null
    },
    /** Closed slots by start, for retraining. */
    loadPvByStart: (): ReadonlyMap<number, { loadW: number; pvW: number }> => closed,
    /** Changes whenever a slot closes (for caches over the history). */
    version: () => version,
  }
}
