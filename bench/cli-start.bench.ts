// `gridmesh --help` start time: the compiled CLI (dist/bin/gridmesh.js, `npm run build:app`)
// against the TypeScript sources through tsx (bin/gridmesh.js), measured in the same run,
// alternating so both see the same machine load. Builds dist/ first if it is missing.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const repo = fileURLToPath(new URL('..', import.meta.url))
const compiled = join(repo, 'dist', 'bin', 'gridmesh.js')
const runs = Number(process.env.CLI_START_RUNS ?? 15)

if (!existsSync(compiled)) {
  process.stderr.write('cli-start: dist/ is missing; building it (npm run build:app)\n')
  const built = spawnSync(process.execPath, [join(repo, 'bin', 'run-ts.js'), join(repo, 'scripts', 'buildApp.ts')], { stdio: ['ignore', 'ignore', 'inherit'] })
  if (built.status !== 0) throw new Error('cli-start: the build failed')
}

function timeHelp(entry: string): number {
  const start = performance.now()
  const run = spawnSync(process.execPath, [entry, '--help'], { encoding: 'utf8' })
  const ms = performance.now() - start
  if (run.status !== 0 || !run.stdout.includes('usage: gridmesh')) throw new Error(`cli-start: ${entry} --help failed (${run.status}): ${run.stderr.slice(0, 300)}`)
  return ms
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

// One of each first, unmeasured: the file cache is warm for both.
timeHelp(compiled)
timeHelp(join(repo, 'bin', 'gridmesh.js'))
const tsxMs: number[] = []
const distMs: number[] = []
for (let i = 0; i < runs; i++) {
  tsxMs.push(timeHelp(join(repo, 'bin', 'gridmesh.js')))
  distMs.push(timeHelp(compiled))
}
const results = { runs, tsxMedianMs: Math.round(median(tsxMs)), compiledMedianMs: Math.round(median(distMs)), tsxMinMs: Math.round(Math.min(...tsxMs)), compiledMinMs: Math.round(Math.min(...distMs)) }
process.stdout.write(`${JSON.stringify({ bench: 'cli-start', results, ratios: { compiledVsTsx: Number((results.compiledMedianMs / results.tsxMedianMs).toFixed(3)) }, targets: { compiledVsTsx: '< 1 (faster than tsx)' } })}\n`)
