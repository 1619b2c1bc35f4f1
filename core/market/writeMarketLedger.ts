import { renameSync, writeFileSync } from 'node:fs'
import { marketLedgerSchema, type MarketLedger } from './marketLedgerSchema.ts'

/** Writes a market ledger atomically (temporary file, then rename), checked against its schema first. */
export function writeMarketLedger(file: string, ledger: MarketLedger): void {
  const checked = marketLedgerSchema.parse(ledger)
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, `${JSON.stringify(checked, null, 1)}\n`)
  renameSync(tmp, file)
}
