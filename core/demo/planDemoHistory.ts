import type { Store } from '../store/createStore.ts'

const dayMs = 86_400_000
const slotMs = 900_000
/** The load model's lags need 7 days and one of its 30-minute slots before the first forecast; an hour more than the week is measured. */
const lagMs = 7 * dayMs + 3_600_000

export type DemoHistoryPlan = {
  /** where the live (time-warped) site starts: the end of its measured history */
  liveFromMs: number
  /** the stepped pass to run first, or null when the data folder already holds the history */
  measure: { fromMs: number; toMs: number } | null
  /** days of the site's 15-minute history already in the store */
  storedDays: number
}

/**
 * Where the demo's simulated site starts, and which history it measures first: a data folder
 * whose store holds the week (and an hour) the load model's lags need goes on where its
 * history ends; otherwise `historyDays` days and an hour are measured up to now (a fresh
 * folder) or from where the stored history ends (a folder with less than a week).
 */
export function planDemoHistory(p: { store: Pick<Store, 'queryTelemetry'>; nowMs: number; historyDays: number }): DemoHistoryPlan {
  const rows = p.store.queryTelemetry({ device: 'site', point: 'loadW', fromMs: 0, toMs: Number.MAX_SAFE_INTEGER, tier: '15m' })
  const latest = p.store.queryTelemetry({ device: 'site', point: 'loadW', fromMs: 0, toMs: Number.MAX_SAFE_INTEGER, tier: '1m' }).at(-1)?.timeMs
  const measureMs = p.historyDays * dayMs + 3_600_000
  if (rows.length === 0) {
    const liveFromMs = Math.floor(p.nowMs / slotMs) * slotMs
    return { liveFromMs, measure: { fromMs: liveFromMs - measureMs, toMs: liveFromMs }, storedDays: 0 }
  }
  // Where the last run stopped: after its last minute, on a slot boundary.
  const endMs = Math.ceil(((latest ?? rows.at(-1)!.timeMs) + 60_000) / slotMs) * slotMs
  const storedDays = (rows.length * slotMs) / dayMs
  // 10 % of the week may be missing (the resampler and the model take holes), not more.
  const lastWeek = rows.filter((r) => r.timeMs >= endMs - lagMs).length
  if (lastWeek >= 0.9 * (lagMs / slotMs)) return { liveFromMs: endMs, measure: null, storedDays }
  return { liveFromMs: endMs + measureMs, measure: { fromMs: endMs, toMs: endMs + measureMs }, storedDays }
}
