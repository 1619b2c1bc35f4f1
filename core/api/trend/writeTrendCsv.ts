import type { Store, TelemetryTier } from '../../store/createStore.ts'
import { formatCsvRow } from '../../store/formatCsvRow.ts'
import { pickTrendTier, type TierRetention } from './pickTrendTier.ts'

export type TrendCsvQuery = { device?: string | undefined; point?: string | undefined; fromMs: number; toMs: number; tier?: TelemetryTier | undefined }

const iso = (ms: number) => new Date(ms).toISOString()

/**
 * GET /api/trend.csv: every row of the range's tier (the trend's tier, not thinned) for
 * one point, one device's points, or, without a device, every stored point of the site
 * (streamed by the store's export in pages). Returns the tier and the row count.
 */
export async function writeTrendCsv(store: Pick<Store, 'queryTelemetry' | 'exportCsv'>, query: TrendCsvQuery, nowMs: number, out: NodeJS.WritableStream, retention?: TierRetention): Promise<{ tier: TelemetryTier; rows: number }> {
  const tier = query.tier ?? pickTrendTier({ fromMs: query.fromMs, toMs: query.toMs, nowMs, ...(retention && { retention }) })
  if (query.device === undefined) return { tier, rows: await store.exportCsv('telemetry', { fromMs: query.fromMs, toMs: query.toMs, tier }, out) }
  const rows = store.queryTelemetry({ device: query.device, ...(query.point !== undefined && { point: query.point }), fromMs: query.fromMs, toMs: query.toMs, tier })
  // the same columns as `gridmesh export --table telemetry` for the tier
  let text = formatCsvRow(tier === 'raw' ? ['time', 'device', 'point', 'value'] : ['time', 'device', 'point', 'avg', 'min', 'max'])
  for (const r of rows) text += formatCsvRow(tier === 'raw' ? [iso(r.timeMs), r.device, r.point, r.value] : [iso(r.timeMs), r.device, r.point, r.value, r.min ?? null, r.max ?? null])
  await new Promise<void>((resolve, reject) => out.write(text, (error) => (error ? reject(error) : resolve())))
  return { tier, rows: rows.length }
}
