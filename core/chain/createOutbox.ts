// A persistent outbox of transactions in SQLite: each entry has an idempotency key, gets
// one nonce for life, and is signed and written to disk before it is broadcast, so a
// kill -9 or an RPC outage at any point leads, after restart, to the same transaction
// being re-broadcast (never a second one): every key executes at most once on chain.
import Database from 'better-sqlite3'
import {
  BaseError as ViemBaseError,
  decodeErrorResult,
  keccak256,
  type Abi,
  type Address,
  type Hex,
  type LocalAccount,
  type PublicClient,
} from 'viem'
import { BaseError } from '../errors/BaseError.ts'

export type OutboxStatus = 'pending' | 'signed' | 'confirmed' | 'reverted' | 'rejected' | 'dropped'

export type OutboxEntry = {
  key: string
  to: Address
  data: Hex
  status: OutboxStatus
  nonce: number | null
  hashes: Hex[]
  error: string | null
  blockNumber: bigint | null
}

export type CreateOutboxParameters = {
  path: string
  client: PublicClient
  account: LocalAccount
  chainId: number
  /** decodes revert data of rejected entries into error names */
  abi?: Abi
  /** re-sign with 12.5 % higher fees when a signed transaction is not mined after this */
  bumpAfterMs?: number
  now?: () => number
}

export type ProcessResult = { confirmed: number; open: number; rpcError: string | null }

/** An idempotency key reused for a different transaction. */
export class OutboxConflictError extends BaseError {
  override name = 'OutboxConflictError' as const
  constructor(key: string) {
    super(`outbox: key '${key}' is already queued with another destination or calldata; expected the same transaction or a new key`)
  }
}

type Row = {
  key: string
  to_address: string
  data: string
  status: OutboxStatus
  nonce: number | null
  gas: string | null
  max_fee: string | null
  max_priority_fee: string | null
  signed_at: number | null
  error: string | null
  block_number: string | null
}

const benignSendErrors = /already known|nonce too low|known transaction|replacement transaction underpriced|already imported/i

function shortError(error: unknown): string {
  if (error instanceof ViemBaseError) return error.shortMessage
  return error instanceof Error ? error.message : String(error)
}

function revertData(error: unknown): Hex | undefined {
  if (!(error instanceof ViemBaseError)) return undefined
  const withData = error.walk((e) => typeof (e as { data?: unknown }).data === 'string' && (e as { data: string }).data.startsWith('0x'))
  return (withData as { data?: Hex } | null)?.data
}

/** Opens (or creates) the outbox database for one account on one chain. */
export function createOutbox({ path, client, account, chainId, abi, bumpAfterMs = 30_000, now = Date.now }: CreateOutboxParameters) {
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  db.exec(`
    CREATE TABLE IF NOT EXISTS outbox (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, account TEXT NOT NULL,
      chain_id INTEGER NOT NULL, to_address TEXT NOT NULL, data TEXT NOT NULL, status TEXT NOT NULL,
      nonce INTEGER, gas TEXT, max_fee TEXT, max_priority_fee TEXT, signed_at INTEGER, error TEXT,
      block_number TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS outbox_tx (
      hash TEXT PRIMARY KEY, key TEXT NOT NULL, raw TEXT NOT NULL, created_at INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS outbox_nonce (
      account TEXT NOT NULL, chain_id INTEGER NOT NULL, next_nonce INTEGER NOT NULL,
      PRIMARY KEY (account, chain_id));
  `)
  const address = account.address
  const q = {
    insert: db.prepare(
      `INSERT INTO outbox (key, account, chain_id, to_address, data, status, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT(key) DO NOTHING`,
    ),
    byKey: db.prepare<[string], Row>('SELECT * FROM outbox WHERE key = ?'),
    open: db.prepare<[string, number], Row>(
      `SELECT * FROM outbox WHERE account = ? AND chain_id = ? AND status IN ('pending', 'signed') ORDER BY seq`,
    ),
    all: db.prepare<[string, number], Row>('SELECT * FROM outbox WHERE account = ? AND chain_id = ? ORDER BY seq'),
    hashes: db.prepare<[string], { hash: Hex; raw: Hex }>('SELECT hash, raw FROM outbox_tx WHERE key = ? ORDER BY created_at, rowid'),
    nextNonce: db.prepare<[string, number], { next_nonce: number }>('SELECT next_nonce FROM outbox_nonce WHERE account = ? AND chain_id = ?'),
    setNonce: db.prepare(
      `INSERT INTO outbox_nonce (account, chain_id, next_nonce) VALUES (?, ?, ?)
       ON CONFLICT(account, chain_id) DO UPDATE SET next_nonce = excluded.next_nonce`,
    ),
    addTx: db.prepare('INSERT INTO outbox_tx (hash, key, raw, created_at) VALUES (?, ?, ?, ?)'),
    sign: db.prepare(
      `UPDATE outbox SET status = 'signed', nonce = ?, gas = ?, max_fee = ?, max_priority_fee = ?, signed_at = ?,
       error = NULL, updated_at = ? WHERE key = ?`,
    ),
    bump: db.prepare('UPDATE outbox SET max_fee = ?, max_priority_fee = ?, signed_at = ?, updated_at = ? WHERE key = ?'),
    finish: db.prepare('UPDATE outbox SET status = ?, error = ?, block_number = ?, updated_at = ? WHERE key = ?'),
    note: db.prepare('UPDATE outbox SET error = ?, updated_at = ? WHERE key = ?'),
  }

  const toEntry = (row: Row): OutboxEntry => ({
    key: row.key,
    to: row.to_address as Address,
    data: row.data as Hex,
    status: row.status,
    nonce: row.nonce,
    hashes: q.hashes.all(row.key).map((t) => t.hash),
    error: row.error,
    blockNumber: row.block_number === null ? null : BigInt(row.block_number),
  })

  /** Queues a transaction once per key; the same key again returns the existing entry. */
  function enqueue(key: string, tx: { to: Address; data: Hex }): OutboxEntry {
    const t = now()
    q.insert.run(key, address, chainId, tx.to, tx.data, t, t)
    const row = q.byKey.get(key)!
    if (row.to_address.toLowerCase() !== tx.to.toLowerCase() || row.data !== tx.data) throw new OutboxConflictError(key)
    return toEntry(row)
  }

  async function signAndStore(row: Row, nonce: number, gas: bigint, maxFeePerGas: bigint, maxPriorityFeePerGas: bigint) {
    const raw = await account.signTransaction({
      chainId,
      type: 'eip1559',
      to: row.to_address as Address,
      data: row.data as Hex,
      nonce,
      gas,
      maxFeePerGas,
      maxPriorityFeePerGas,
    })
    return { raw, hash: keccak256(raw) }
  }

  async function broadcast(raw: Hex): Promise<void> {
    try {
      await client.request({ method: 'eth_sendRawTransaction', params: [raw] })
    } catch (error) {
      if (!benignSendErrors.test(shortError(error)) && !benignSendErrors.test(String((error as { details?: string }).details)))
        throw error
    }
  }

  /** Looks for a receipt of any transaction signed for the entry; finishes it if found. */
  async function settleFromReceipts(row: Row): Promise<boolean> {
    for (const { hash } of q.hashes.all(row.key)) {
      const receipt = await client.getTransactionReceipt({ hash }).catch((error: unknown) => {
        if (error instanceof ViemBaseError && error.name === 'TransactionReceiptNotFoundError') return null
        throw error
      })
      if (receipt) {
        const status = receipt.status === 'success' ? 'confirmed' : 'reverted'
        q.finish.run(status, null, receipt.blockNumber.toString(), now(), row.key)
        return true
      }
    }
    return false
  }

  async function step(row: Row): Promise<void> {
    if (row.status === 'pending') {
      // a transaction that would revert never gets a nonce, so it cannot leave a gap
      try {
        await client.call({ account: address, to: row.to_address as Address, data: row.data as Hex })
      } catch (error) {
        const data = revertData(error)
        if (data === undefined) throw error
        let reason = data
        if (abi) {
          try {
            reason = decodeErrorResult({ abi, data }).errorName as Hex
          } catch {
            reason = data
          }
        }
        q.finish.run('rejected', `reverts in simulation: ${reason}`, null, now(), row.key)
        return
      }
      const gas = await client.estimateGas({ account: address, to: row.to_address as Address, data: row.data as Hex })
      const fees = await client.estimateFeesPerGas()
      const chainNonce = await client.getTransactionCount({ address, blockTag: 'pending' })
      const stored = q.nextNonce.get(address, chainId)?.next_nonce ?? 0
      const nonce = Math.max(stored, chainNonce)
      const gasLimit = (gas * 12n) / 10n
      const { raw, hash } = await signAndStore(row, nonce, gasLimit, fees.maxFeePerGas, fees.maxPriorityFeePerGas)
      const t = now()
      // write-ahead: the signed transaction is on disk before anything is sent
      db.transaction(() => {
        q.setNonce.run(address, chainId, nonce + 1)
        q.addTx.run(hash, row.key, raw, t)
        q.sign.run(nonce, gasLimit.toString(), fees.maxFeePerGas.toString(), fees.maxPriorityFeePerGas.toString(), t, t, row.key)
      })()
      await broadcast(raw)
      await settleFromReceipts(q.byKey.get(row.key)!)
      return
    }
    // signed: mined already? else re-broadcast, and bump fees when it has waited too long
    if (await settleFromReceipts(row)) return
    const chainNonce = await client.getTransactionCount({ address, blockTag: 'latest' })
    if (row.nonce !== null && chainNonce > row.nonce) {
      if (await settleFromReceipts(row)) return
      q.finish.run('dropped', `nonce ${row.nonce} was used by another transaction`, null, now(), row.key)
      return
    }
    const txs = q.hashes.all(row.key)
    const latest = txs[txs.length - 1]!
    if (row.signed_at !== null && now() - row.signed_at >= bumpAfterMs) {
      const maxFee = (BigInt(row.max_fee!) * 9n) / 8n + 1n
      const tip = (BigInt(row.max_priority_fee!) * 9n) / 8n + 1n
      const { raw, hash } = await signAndStore(row, row.nonce!, BigInt(row.gas!), maxFee, tip)
      const t = now()
      db.transaction(() => {
        q.addTx.run(hash, row.key, raw, t)
        q.bump.run(maxFee.toString(), tip.toString(), t, t, row.key)
      })()
      await broadcast(raw)
    } else {
      await broadcast(latest.raw)
    }
    await settleFromReceipts(q.byKey.get(row.key)!)
  }

  /** One pass over open entries in queue order; stops at the first RPC failure. */
  async function processOnce(): Promise<ProcessResult> {
    let rpcError: string | null = null
    for (const row of q.open.all(address, chainId)) {
      try {
        await step(row)
      } catch (error) {
        rpcError = shortError(error)
        q.note.run(rpcError, now(), row.key)
        break
      }
    }
    const all = q.all.all(address, chainId)
    return {
      confirmed: all.filter((r) => r.status === 'confirmed').length,
      open: all.filter((r) => r.status === 'pending' || r.status === 'signed').length,
      rpcError,
    }
  }

  return {
    enqueue,
    processOnce,
    get: (key: string) => {
      const row = q.byKey.get(key)
      return row ? toEntry(row) : undefined
    },
    list: () => q.all.all(address, chainId).map(toEntry),
    close: () => db.close(),
  }
}

export type Outbox = ReturnType<typeof createOutbox>
