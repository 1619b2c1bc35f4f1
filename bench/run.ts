// Runs every bench/*.bench.ts in its own process, one after another (they measure
// throughput, so they must not share the 2 cores), and prints one JSON document with
// all results. Each bench prints exactly one JSON object on its last stdout line:
// { "bench": name, "results": {...}, "ratios": {...}, "targets": {...} }.
// `npm run bench -- NAME...` runs only the named benches.
import { readdirSync, mkdirSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const only = process.argv.slice(2)
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.includes(f.replace(/\.bench\.ts$/, '')))
  .sort()

const report: Record<string, unknown> = { startedAt: new Date().toISOString(), node: process.version, benches: {} }
const benches = report.benches as Record<string, unknown>
let failures = 0
for (const file of files) {
  const name = file.replace(/\.bench\.ts$/, '')
  process.stderr.write(`bench: ${name} ...\n`)
  const child = spawnSync(process.execPath, [join(here, '..', 'bin', 'run-ts.js'), join(here, file)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  })
  const last = child.stdout.trim().split('\n').pop() ?? ''
  try {
    benches[name] = JSON.parse(last)
  } catch {
    failures++
    benches[name] = { error: `exit ${child.status}; last stdout line was not JSON: ${last.slice(0, 200)}` }
  }
  if (child.status !== 0) failures++
}
mkdirSync(join(here, 'results'), { recursive: true })
writeFileSync(join(here, 'results', 'latest.json'), JSON.stringify(report, null, 2) + '\n')
process.stdout.write(JSON.stringify(report, null, 2) + '\n')
process.exitCode = failures ? 1 : 0
