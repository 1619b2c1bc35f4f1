// The plan and training workers of the compiled app (dist/, `npm run build:app`) start
// without tsx, as they must in a packaged app (which ships no tsx): run on plain Node with
// a module hook that refuses to resolve anything named tsx, in the process and its workers.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { ensureAppBuilt } from '../support/ensureAppBuilt.ts'

const repo = fileURLToPath(new URL('../../', import.meta.url))

/** Runs `script` (ESM) on plain Node with tsx made unresolvable; returns what it printed as JSON. */
function runWithoutTsx(script: string): unknown {
  const dir = mkdtempSync(join(tmpdir(), 'gridmesh-no-tsx-'))
  writeFileSync(join(dir, 'hooks.mjs'), "export async function resolve(specifier, context, next) {\n  if (/^tsx(\\/|$)/.test(specifier)) throw new Error(`tsx is not here (a packaged app): ${specifier}`)\n  return next(specifier, context)\n}\n")
  writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module'\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)})\n`)
  writeFileSync(join(dir, 'run.mjs'), script)
  // Workers inherit execArgv: the hook is in every thread.
  const out = execFileSync(process.execPath, ['--import', pathToFileURL(join(dir, 'register.mjs')).href, join(dir, 'run.mjs')], { cwd: dir, encoding: 'utf8', timeout: 180_000 })
  return JSON.parse(out.trim().split('\n').at(-1)!)
}

describe('the compiled workers', () => {
  it('plan and train from dist/ with tsx unresolvable: the .js entries are imported as they are', async () => {
    await ensureAppBuilt()
    const planWorker = pathToFileURL(join(repo, 'dist', 'core', 'schedule', 'createPlanWorker.js')).href
    const trainWorker = pathToFileURL(join(repo, 'dist', 'core', 'forecast', 'trainInWorker.js')).href
    const result = runWithoutTsx(`
const tsx = await import('tsx/esm/api').then(() => 'resolved', (e) => e.message)
const { createPlanWorker } = await import(${JSON.stringify(planWorker)})
const { trainInWorker } = await import(${JSON.stringify(trainWorker)})
const worker = createPlanWorker()
const startMs = Date.UTC(2026, 0, 5)
const input = { startMs, slotDurationMs: 900000, objective: 'cost', grid: {},
  slots: Array.from({ length: 8 }, (_, i) => ({ loadPowerW: 800 + 100 * i, pvPowerW: 0, importPriceEurPerKWh: i < 4 ? 0.1 : 0.4, exportPriceEurPerKWh: 0.05 })),
  battery: { capacityWh: 10000, socPct: 50, minSocPct: 10, maxSocPct: 95, maxChargePowerW: 5000, maxDischargePowerW: 5000 } }
const plan = await worker.plan(input, { nowMs: startMs }).then((p) => ({ slots: p.slots.length }), (e) => ({ error: e.message + ' ' + (e.cause?.message ?? '') }))
await worker.close()
// Two days of history: the worker module runs and refuses it (a model needs 21 days), which it can only do once loaded.
const train = await trainInWorker({ series: { startMs, slotMs: 900000, loadKw: new Float64Array(192).fill(1), temperatureC: undefined, holiday: undefined }, timeZone: 'UTC', source: 'test', backend: 'cpu', onLog: () => {} }).then(() => 'trained', (e) => e.message + ' ' + (e.cause?.message ?? ''))
console.log(JSON.stringify({ tsx, plan, train }))
`)
    expect(result).toMatchObject({
      // the hook works: tsx cannot be loaded in this process
      tsx: expect.stringMatching(/tsx is not here/),
      plan: { slots: 8 },
      train: expect.stringMatching(/training failed: too short: 2\.0 days of history/),
    })
  }, 240_000)
})
