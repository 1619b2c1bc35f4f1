import { statSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { describeZodIssue } from '../../errors/describeZodIssue.ts'
import { marketLedgerSchema } from '../../market/marketLedgerSchema.ts'
import type { MarketResult } from '../contract.ts'

const maxLedgerBytes = 16 << 20

/**
 * GET /api/market from a market ledger file (`gridmesh market demo --ledger FILE`):
 * the ledger as it is, or `available: false` with the reason (no file yet, too big, not
 * a ledger). Read per request, so a demo still writing it is picked up when it lands.
 */
export async function readMarketLedger(file: string): Promise<MarketResult> {
  let size: number
  try {
    size = statSync(file).size
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    return { available: false, reason: code === 'ENOENT' ? `no market ledger at ${file} yet (gridmesh market demo --ledger ${file} writes one)` : `cannot read the market ledger ${file} (${code})` }
  }
  if (size > maxLedgerBytes) return { available: false, reason: `the market ledger ${file} is larger than ${maxLedgerBytes} bytes` }
  let json: unknown
  try {
    json = JSON.parse(await readFile(file, 'utf8'))
  } catch (error) {
    return { available: false, reason: `the market ledger ${file} is not JSON (${(error as Error).message})` }
  }
  const parsed = marketLedgerSchema.safeParse(json)
  if (!parsed.success) return { available: false, reason: `${file} is not a market ledger: ${parsed.error.issues.slice(0, 3).map((i) => describeZodIssue(i, json)).join('; ')}` }
  return { available: true, source: parsed.data.source, file, ledger: parsed.data }
}
