import type Database from 'better-sqlite3'
import { StoreInputError } from './errors.ts'
import { checkFinite, checkText, checkTimeMs, iso, type CsvPage, type CsvRow } from './storeChecks.ts'
import type { ForecastKind, ForecastRecord } from './storeTypes.ts'

type ForecastRow = { id: number; created_at_ms: number; kind: ForecastKind; model: string; start_ms: number; slot_ms: number; values_w: string }

/** Forecasts with the time they were made, so accuracy is scored against what was known then. */
export function createForecastStore(db: Database.Database) {
  type Page = { from: number; to: number; after: number; limit: number; device: string | null }
  const q = {
  insertForecast: db.prepare(
    'INSERT INTO forecasts (created_at_ms, kind, model, start_ms, slot_ms, end_ms, values_w) VALUES (?, ?, ?, ?, ?, ?, ?)',
  ),
  forecasts: db.prepare<[ForecastKind, number, number], ForecastRow>(
    'SELECT * FROM forecasts WHERE kind = ? AND end_ms > ? AND start_ms < ? ORDER BY created_at_ms, id',
  ),
  forecastsPage: db.prepare<[Page], ForecastRow>(
    'SELECT * FROM forecasts WHERE end_ms > @from AND start_ms < @to AND id > @after ORDER BY id LIMIT @limit',
  ),
  }

  function saveForecast(f: ForecastRecord): number {
    const method = 'saveForecast'
    if (typeof f !== 'object' || f === null) throw new StoreInputError({ method, field: 'forecast', expected: 'a forecast object', got: f })
    checkTimeMs(method, 'createdAtMs', f.createdAtMs)
    checkKind(method, f.kind)
    checkText(method, 'model', f.model)
    checkTimeMs(method, 'startMs', f.startMs)
    if (!Number.isSafeInteger(f.slotMs) || f.slotMs <= 0) throw new StoreInputError({ method, field: 'slotMs', expected: 'a positive integer of milliseconds', got: f.slotMs })
    if (!Array.isArray(f.valuesW) || f.valuesW.length === 0) throw new StoreInputError({ method, field: 'valuesW', expected: 'a non-empty array of numbers', got: f.valuesW })
    f.valuesW.forEach((v, i) => checkFinite(method, `valuesW[${i}]`, v))
    const endMs = f.startMs + f.slotMs * f.valuesW.length
    return Number(q.insertForecast.run(f.createdAtMs, f.kind, f.model, f.startMs, f.slotMs, endMs, JSON.stringify(f.valuesW)).lastInsertRowid)
  }

  function forecastsFor(query: { kind: ForecastKind; startMs: number; endMs: number }): (ForecastRecord & { id: number })[] {
    const method = 'forecastsFor'
    checkKind(method, query.kind)
    checkFinite(method, 'startMs', query.startMs)
    checkFinite(method, 'endMs', query.endMs)
    if (query.startMs > query.endMs) {
      throw new StoreInputError({ method, field: 'startMs', expected: `a time at or before endMs (${query.endMs})`, got: query.startMs })
    }
    return q.forecasts.all(query.kind, query.startMs, query.endMs).map(toForecast)
  }

  return {
    saveForecast,
    forecastsFor,
    /** One CSV row per forecast slot inside [from, to). */
    async writeCsvPage(params: CsvPage, row: CsvRow): Promise<{ size: number; last: number }> {
      const page = q.forecastsPage.all(params)
      for (const f of page) {
        const values = JSON.parse(f.values_w) as number[]
        for (let i = 0; i < values.length; i++) {
          const slotMs = f.start_ms + i * f.slot_ms
          if (slotMs >= params.from && slotMs < params.to) await row([f.id, iso(f.created_at_ms), f.kind, f.model, iso(slotMs), f.slot_ms, values[i]!])
        }
      }
      return { size: page.length, last: page.at(-1)?.id ?? -1 }
    },
  }
}

function checkKind(method: string, value: unknown): asserts value is ForecastKind {
  if (value !== 'load' && value !== 'pv') throw new StoreInputError({ method, field: 'kind', expected: "'load' or 'pv'", got: value })
}

function toForecast(r: ForecastRow): ForecastRecord & { id: number } {
  return {
    id: r.id,
    createdAtMs: r.created_at_ms,
    kind: r.kind,
    model: r.model,
    startMs: r.start_ms,
    slotMs: r.slot_ms,
    valuesW: JSON.parse(r.values_w) as number[],
  }
}
