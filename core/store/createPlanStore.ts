import type Database from 'better-sqlite3'
import { StoreInputError } from './errors.ts'
import { checkTimeMs, findNonFinite, iso, type CsvPage, type CsvRow, writeCsvRows } from './storeChecks.ts'
import type { PlanDocument } from './storeTypes.ts'

/** Plans as the planner made them (a JSON document each), the latest read back at start. */
export function createPlanStore(db: Database.Database) {
  type Page = { from: number; to: number; after: number; limit: number; device: string | null }
  const q = {
  insertPlan: db.prepare('INSERT INTO plans (version, created_at_ms, document) VALUES (?, ?, ?)'),
  latestPlan: db.prepare<[], { document: string }>('SELECT document FROM plans ORDER BY created_at_ms DESC, id DESC LIMIT 1'),
  plans: db.prepare<[Page], { id: number; version: number; created_at_ms: number; document: string }>(
    'SELECT * FROM plans WHERE created_at_ms >= @from AND created_at_ms < @to AND id > @after ORDER BY id LIMIT @limit',
  ),
  }

  function savePlan(plan: PlanDocument): number {
    const method = 'savePlan'
    if (typeof plan !== 'object' || plan === null || Array.isArray(plan)) {
      throw new StoreInputError({ method, field: 'plan', expected: 'a plan object', got: plan })
    }
    if (!Number.isSafeInteger(plan.version)) throw new StoreInputError({ method, field: 'plan.version', expected: 'an integer', got: plan.version })
    checkTimeMs(method, 'plan.createdAtMs', plan.createdAtMs)
    // JSON would turn NaN and Infinity into null without a word.
    const bad = findNonFinite(plan, 'plan')
    if (bad) throw new StoreInputError({ method, field: bad.path, expected: 'a finite number (JSON cannot hold it)', got: bad.value })
    return Number(q.insertPlan.run(plan.version, plan.createdAtMs, JSON.stringify(plan)).lastInsertRowid)
  }

  function latestPlan(): PlanDocument | null {
    const row = q.latestPlan.get()
    return row ? (JSON.parse(row.document) as PlanDocument) : null
  }

  return {
    savePlan,
    latestPlan,
    writeCsvPage: (params: CsvPage, row: CsvRow) => writeCsvRows(q.plans.all(params), (p) => [p.id, p.version, iso(p.created_at_ms), p.document], row),
  }
}
