// Input checks shared by the store's parts: a bad call names the method, the field, what was expected and what came.
import { StoreInputError } from './errors.ts'

/** Rows per page when the export reads a table: between pages the connection is free for the control loop. */
export const PAGE_ROWS = 5_000

export const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

export function checkTimeMs(method: string, field: string, value: unknown): asserts value is number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new StoreInputError({ method, field, expected: 'a time in integer milliseconds since 1970', got: value })
  }
}

export function checkFinite(method: string, field: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new StoreInputError({ method, field, expected: 'a finite number', got: value })
}

export function checkText(method: string, field: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value === '') throw new StoreInputError({ method, field, expected: 'a non-empty string', got: value })
}

export function checkBoolean(method: string, field: string, value: unknown): asserts value is boolean {
  if (typeof value !== 'boolean') throw new StoreInputError({ method, field, expected: 'true or false', got: value })
}

export function checkQuery(method: string, query: { fromMs: number; toMs: number }): void {
  if (typeof query !== 'object' || query === null) throw new StoreInputError({ method, field: 'q', expected: 'a query object', got: query })
  checkFinite(method, 'fromMs', query.fromMs)
  checkFinite(method, 'toMs', query.toMs)
  if (query.fromMs > query.toMs) {
    throw new StoreInputError({ method, field: 'fromMs', expected: `a time at or before toMs (${iso(query.toMs)})`, got: query.fromMs })
  }
}
export function findNonFinite(value: unknown, path: string): { path: string; value: number } | null {
  if (typeof value === 'number') return Number.isFinite(value) ? null : { path, value }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findNonFinite(value[i], `${path}[${i}]`)
      if (found) return found
    }
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      const found = findNonFinite(child, `${path}.${key}`)
      if (found) return found
    }
  }
  return null
}

/** One CSV row of an export. */
export type CsvRow = (fields: (string | number | boolean | null)[]) => Promise<void>
/** A page of an export: rows in [from, to) with an id after `after`, at most `limit`. */
export type CsvPage = { from: number; to: number; after: number; limit: number; device: null }

/** Writes one CSV row per record of a page; returns the page's size and last id (the next page starts after it). */
export async function writeCsvRows<R extends { id: number }>(page: readonly R[], fields: (r: R) => (string | number | boolean | null)[], row: CsvRow): Promise<{ size: number; last: number }> {
  for (const r of page) await row(fields(r))
  return { size: page.length, last: page.at(-1)?.id ?? -1 }
}
