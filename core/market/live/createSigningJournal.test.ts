import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { createMarketDomain } from '../typedData.ts'
import { createSigningJournal } from './createSigningJournal.ts'
import type { LiveMessage } from './liveMessageSchema.ts'
import { signLiveMessage } from './signLiveMessage.ts'

type Reading = Extract<LiveMessage, { kind: 'reading' }>
const domain = createMarketDomain(31337, '0x5FbDB2315678afecb367f032d93F642f64180aa3')
const meter = privateKeyToAccount(generatePrivateKey())
const reading = (interval: bigint, importWh: number) => signLiveMessage<Reading>(meter, domain, { kind: 'reading', body: { siteId: 3, interval, importWh, exportWh: 0 } })

describe('createSigningJournal', () => {
  it('returns the recorded message for a second request of the same interval, never a new signature', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'journal-'))
    const first = await createSigningJournal(dir).recordOnce('reading', 3, 7n, () => reading(7n, 100))
    const again = await createSigningJournal(dir).recordOnce('reading', 3, 7n, () => reading(7n, 999))
    expect(first.recorded).toBe(false)
    expect(again).toEqual({ message: first.message, recorded: true })
  })

  it('signs once when two requests for one interval race', async () => {
    const journal = createSigningJournal(mkdtempSync(join(tmpdir(), 'journal-')))
    let signatures = 0
    const sign = (importWh: number) => async () => {
      signatures++
      await new Promise((r) => setTimeout(r, 20))
      return reading(8n, importWh)
    }
    const [a, b] = await Promise.all([journal.recordOnce('reading', 3, 8n, sign(1)), journal.recordOnce('reading', 3, 8n, sign(2))])
    expect(signatures).toBe(1)
    expect(a.message).toEqual(b.message)
  })

  it('refuses an entry it cannot read back instead of signing again, naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'journal-'))
    writeFileSync(join(dir, 'reading-site-3-9.json'), '{"v":1,"kind":"reading"')
    let signed = false
    const error = await createSigningJournal(dir)
      .recordOnce('reading', 3, 9n, async () => {
        signed = true
        return reading(9n, 1)
      })
      .catch((e: Error) => e)
    expect((error as Error & { shortMessage: string }).shortMessage).toBe(`${join(dir, 'reading-site-3-9.json')}: not JSON; expected the signed reading of site 3 interval 9 (the site will not sign that interval again)`)
    expect(signed).toBe(false)
  })

  it('refuses a signer that returns another interval than asked', async () => {
    const journal = createSigningJournal(mkdtempSync(join(tmpdir(), 'journal-')))
    await expect(journal.recordOnce('reading', 3, 10n, () => reading(11n, 1))).rejects.toThrow(/asked for the reading of site 3 interval 10, got a reading of site 3 interval 11/)
  })

  it('lists recorded readings by interval, prunes old ones and drops temporary files of an interrupted write', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'journal-'))
    const journal = createSigningJournal(dir)
    for (const i of [12n, 10n, 11n]) await journal.recordOnce('reading', 3, i, () => reading(i, Number(i)))
    expect(journal.list('reading', 11n).map((m) => m.body.interval)).toEqual([11n, 12n])
    expect(journal.prune('reading', 12n)).toBe(2)
    writeFileSync(join(dir, 'reading-site-3-13.json.123.tmp'), '{"v":1')
    createSigningJournal(dir)
    expect(readdirSync(dir)).toEqual(['reading-site-3-12.json'])
  })
})
