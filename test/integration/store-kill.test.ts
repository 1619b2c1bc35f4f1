// Nothing acknowledged is lost on kill -9: a writer process prints a line after each store
// call returns; the test kills it with SIGKILL at a random moment, reopens the store and
// finds every printed item, and each telemetry batch whole or not at all. Three rounds on
// the same file, so each round also starts from a store recovered after a kill.
import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { expect, it } from 'vitest'
import { createStore } from '../../core/store/createStore.ts'

async function runAndKill(path: string, round: number, killAfterMs: number): Promise<string[]> {
  const child = spawn(process.execPath, ['bin/run-ts.js', 'test/fixtures/store/storeWorker.ts'], {
    env: { ...process.env, GM_DB: path, GM_ROUND: String(round) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const lines: string[] = []
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)))
  const lineReader = createInterface({ input: child.stdout })
  const closed = new Promise<void>((resolve) => lineReader.on('close', resolve))
  lineReader.on('line', (line) => {
    if (line === 'ready') setTimeout(() => child.kill('SIGKILL'), killAfterMs)
    else lines.push(line)
  })
  const signal = await exited
  await closed
  expect(signal, `worker exited by itself: ${stderr}`).toBe('SIGKILL')
  return lines
}

it('every item printed before a SIGKILL at a random moment is in the store after reopening', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'gm-store-kill-')), 'store.db')
  const acknowledged = { telemetry: 0, writes: 0, raised: 0, acked: 0, cleared: 0, downsampled: 0 }
  for (let round = 0; round < 3; round++) {
    const killAfterMs = Math.floor(Math.random() * 400)
    const lines = await runAndKill(path, round, killAfterMs)
    const context = `round ${round}, killed ${killAfterMs} ms after start, ${lines.length} lines`
    const store = createStore({ path })
    try {
      const acks = new Set<number>()
      const clears = new Set<number>()
      for (const line of lines) {
        const [kind, a, b] = line.split(' ')
        if (kind === 'T') {
          const rows = store.queryTelemetry({ fromMs: Number(a), toMs: Number(a) + 1 })
          expect(rows, `${context}: ${line}`).toHaveLength(200)
          acknowledged.telemetry++
        } else if (kind === 'W') {
          expect(store.listWrites({ fromMs: Number(a), toMs: Number(a) + 1 }), `${context}: ${line}`).toHaveLength(1)
          acknowledged.writes++
        } else if (kind === 'A') {
          expect(store.listAlarms().find((alarm) => alarm.id === Number(a))?.key, `${context}: ${line}`).toBe(b)
          acknowledged.raised++
        } else if (kind === 'K') {
          acks.add(Number(a))
        } else if (kind === 'C') {
          clears.add(Number(a))
        } else if (kind === 'D') {
          // the rollup it acknowledged is there: every series has the last closed minute
          const minuteMs = Math.floor(Number(a) / 60_000) * 60_000 - 60_000
          const buckets = store.queryTelemetry({ fromMs: minuteMs, toMs: minuteMs + 1, tier: '1m' })
          const roundStartMs = Date.UTC(2026, 10, 24) + round * 1e9 // as storeWorker.ts numbers its times
          if (minuteMs + 60_000 > roundStartMs) expect(buckets, `${context}: ${line}`).toHaveLength(200)
          acknowledged.downsampled++
        } else {
          throw new Error(`${context}: unexpected line '${line}'`)
        }
      }
      const alarms = new Map(store.listAlarms().map((alarm) => [alarm.id, alarm]))
      const events = store.alarmEvents(0)
      for (const id of acks) {
        expect(alarms.get(id)?.acknowledgedBy, `${context}: ack of alarm ${id}`).toBe(`op-${round}`)
        expect(events.some((e) => e.alarmId === id && e.state === 'acknowledged'), `${context}: ack event of ${id}`).toBe(true)
        acknowledged.acked++
      }
      for (const id of clears) {
        expect(alarms.get(id)?.state, `${context}: clear of alarm ${id}`).toBe('normal')
        acknowledged.cleared++
      }
      // a batch is one transaction: whole or absent, also the one the kill interrupted
      const perTime = new Map<number, number>()
      for (const row of store.queryTelemetry({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER })) perTime.set(row.timeMs, (perTime.get(row.timeMs) ?? 0) + 1)
      expect([...perTime.values()].filter((count) => count !== 200), context).toEqual([])
    } finally {
      store.close()
    }
  }
  process.stderr.write(`store kill -9: acknowledged and found ${JSON.stringify(acknowledged)}\n`)
  expect(acknowledged.telemetry).toBeGreaterThan(0)
  expect(acknowledged.raised).toBeGreaterThan(0)
})
