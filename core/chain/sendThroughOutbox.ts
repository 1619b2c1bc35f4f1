import type { Address, Hex, PublicClient, TransactionReceipt } from 'viem'
import { BaseError } from '../errors/BaseError.ts'
import type { Outbox, OutboxEntry } from './createOutbox.ts'

/** An outbox entry that ended without being mined successfully, or stayed open too long. */
export class OutboxSendError extends BaseError {
  override name = 'OutboxSendError' as const
}

export type SendThroughOutboxParameters = {
  outbox: Pick<Outbox, 'enqueue' | 'processOnce' | 'get'>
  client: Pick<PublicClient, 'getTransactionReceipt'>
  key: string
  tx: { to: Address; data: Hex }
  /** what the transaction does, for errors */
  what: string
  /** outbox passes before giving up (the entry stays queued) */
  maxPasses?: number
  /** between passes that left the entry open */
  pauseMs?: number
}

const open = (e: OutboxEntry) => e.status === 'pending' || e.status === 'signed'

/** Queues one transaction under its idempotency key and processes the outbox until it is mined; returns its hash and receipt. */
export async function sendThroughOutbox({ outbox, client, key, tx, what, maxPasses = 50, pauseMs = 0 }: SendThroughOutboxParameters): Promise<{ hash: Hex; receipt: TransactionReceipt }> {
  outbox.enqueue(key, tx)
  for (let passes = 0; open(outbox.get(key)!); passes++) {
    if (passes === maxPasses) throw new OutboxSendError(`${what}: still open after ${maxPasses} outbox passes: ${outbox.get(key)!.error ?? ''}`)
    if (passes > 0 && pauseMs) await new Promise((r) => setTimeout(r, pauseMs))
    await outbox.processOnce()
  }
  const entry = outbox.get(key)!
  if (entry.status !== 'confirmed') throw new OutboxSendError(`${what}: ${entry.status}: ${entry.error ?? ''}`)
  const hash = entry.hashes[entry.hashes.length - 1]!
  return { hash, receipt: await client.getTransactionReceipt({ hash }) }
}
