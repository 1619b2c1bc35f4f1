// gridmesh export as a process: a large export through a real pipe while the controller's
// store is open and writing in this process (WAL lets the reader and the writer overlap).
import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { createStore } from '../../core/store/createStore.ts'

it('exports 60,000 raw rows to stdout while the store is open and being written', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'gm-store-cli-')), 'store.db')
  const T0 = Date.UTC(2026, 10, 24)
  const store = createStore({ path })
  for (let i = 0; i < 300; i++) {
    store.appendTelemetry(Array.from({ length: 200 }, (_, p) => ({ timeMs: T0 + i * 1000, device: `dev-${p % 10}`, point: `p${p}`, value: i * 0.5 })))
  }
  const child = spawn(process.execPath, ['bin/run-ts.js', 'test/fixtures/store/runExport.ts', '--db', path, '--table', 'telemetry', '--from', '2026-11-24', '--to', '2026-11-25'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
  // the controller keeps writing meanwhile (a later day, outside the export window)
  const writer = setInterval(() => store.appendTelemetry([{ timeMs: T0 + 86_400_000 + Date.now() % 1000, device: 'meter', point: 'powerW', value: 1 }]), 5)
  const code = await exited
  clearInterval(writer)
  store.close()
  expect(stderr).toBe('export: 60000 telemetry rows\n')
  expect(code).toBe(0)
  const lines = stdout.split('\r\n')
  expect(lines).toHaveLength(60_002)
  expect(lines[0]).toBe('time,device,point,value')
  // in time order, then series
  expect(lines[1]).toBe('2026-11-24T00:00:00.000Z,dev-0,p0,0')
  expect(lines[2]).toBe('2026-11-24T00:00:00.000Z,dev-1,p1,0')
  expect(lines[60_000]).toBe('2026-11-24T00:04:59.000Z,dev-9,p199,149.5')
})
