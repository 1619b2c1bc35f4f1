// The packaged demo's market: the compiled CLI (dist/, `npm run build:app`) runs `market demo`
// with its sites (each a `serve --sim-clock` process on its simulator) on plain Node, with a
// module hook in every process (NODE_OPTIONS is inherited by the children) that refuses to
// resolve anything named tsx, as a packaged app ships none. The site processes were once
// started through bin/run-ts.js, which dist/ does not have: the packaged demo ran without its market.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { ensureAppBuilt } from '../support/ensureAppBuilt.ts'

const repo = fileURLToPath(new URL('../../', import.meta.url))

describe('the compiled market demo', () => {
  it('trades and settles an interval between 2 site processes from dist/ with tsx unresolvable', async () => {
    await ensureAppBuilt()
    const dir = mkdtempSync(join(tmpdir(), 'gridmesh-compiled-market-'))
    writeFileSync(join(dir, 'hooks.mjs'), "export async function resolve(specifier, context, next) {\n  if (/^tsx(\\/|$)/.test(specifier)) throw new Error(`tsx is not here (a packaged app): ${specifier}`)\n  return next(specifier, context)\n}\n")
    writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module'\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)})\n`)
    const run = spawnSync(process.execPath, [join(repo, 'dist', 'bin', 'gridmesh.js'), 'market', 'demo', '--sites', '2', '--intervals', '1', '--json'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 400_000,
      env: { ...process.env, NODE_OPTIONS: `--import ${pathToFileURL(join(dir, 'register.mjs')).href}` },
    })
    expect(run.status, run.stderr.slice(-3000)).toBe(0)
    expect(run.stderr).not.toMatch(/tsx is not here/)
    const report = JSON.parse(run.stdout) as { intervals: { settleTx: string | null; trades: unknown[] }[] }
    expect(report.intervals).toHaveLength(1)
    expect(report.intervals[0]!.trades.length).toBeGreaterThan(0)
    expect(report.intervals[0]!.settleTx).toMatch(/^0x[0-9a-f]{64}$/)
  }, 420_000)
})
