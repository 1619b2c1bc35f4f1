// The house shows its design (issue 17): which folders may import which, checked on every
// import, export-from and dynamic import() in the repository's TypeScript.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

function filesUnder(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(join(root, dir))) {
    if (name === 'node_modules' || name.startsWith('.')) continue
    const path = join(dir, name)
    if (statSync(join(root, path)).isDirectory()) out.push(...filesUnder(path))
    else if (/\.(ts|js|mts)$/.test(name) && !name.endsWith('.d.ts')) out.push(path)
  }
  return out
}

/** Every relative module a file names: static imports, re-exports and dynamic import(). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8')
  const specifiers = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]/g), ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g), ...text.matchAll(/(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g)].map((m) => m[1]!)
  return specifiers.filter((s) => s.startsWith('.')).map((s) => relative(root, resolve(root, dirname(file), s)))
}

const sources = ['core', 'bin', 'bench', 'test', 'models', 'hardware-sims', 'contracts'].flatMap((d) => {
  try {
    return filesUnder(d)
  } catch {
    return []
  }
})
const edges = sources.flatMap((from) => importsOf(from).map((to) => ({ from, to })))
const inside = (path: string, folder: string) => path === folder || path.startsWith(`${folder}/`)
const violations = (rule: (e: { from: string; to: string }) => boolean) => edges.filter(rule).map((e) => `${e.from} -> ${e.to}`)

describe('layering', () => {
  it('reads the imports it checks', () => {
    // A scan that found nothing would pass every rule below.
    expect(sources.length).toBeGreaterThan(200)
    expect(edges.some((e) => e.from === 'core/control/createSiteRuntime.ts' && e.to === 'core/control/createControlLoop.ts')).toBe(true)
    expect(edges.some((e) => e.from === 'bin/main.ts' && inside(e.to, 'core'))).toBe(true)
  })

  it('core/market is protocol only: it imports neither core/control nor core/devices (the demo lives above it)', () => {
    expect(violations((e) => inside(e.from, 'core/market') && (inside(e.to, 'core/control') || inside(e.to, 'core/devices') || inside(e.to, 'core/demo')))).toEqual([])
  })

  it('core/chain does not import core/devices (the site file sections it reads are core/site)', () => {
    expect(violations((e) => inside(e.from, 'core/chain') && (inside(e.to, 'core/devices') || inside(e.to, 'core/control') || inside(e.to, 'core/demo')))).toEqual([])
  })

  it('core/site does not import core/devices', () => {
    expect(violations((e) => inside(e.from, 'core/site') && inside(e.to, 'core/devices'))).toEqual([])
  })

  it('orchestration depends on capabilities, never the reverse: core/control imports neither core/api nor core/demo', () => {
    // The single-site demo composes serve (core/api), so it lives in core/demo beside the market demo.
    expect(violations((e) => inside(e.from, 'core/control') && (inside(e.to, 'core/api') || inside(e.to, 'core/demo')))).toEqual([])
  })

  it('nothing outside core/control/backtest imports from it, but the command table, its tests and its benches', () => {
    const allowed = (from: string) => inside(from, 'core/control/backtest') || from === 'bin/main.ts' || from === 'test/integration/backtest.test.ts' || from === 'test/integration/site-runtime-equivalence.test.ts' || from === 'bench/control.bench.ts' || from === 'bench/backtest-windows.bench.ts'
    expect(violations((e) => inside(e.to, 'core/control/backtest') && !allowed(e.from))).toEqual([])
  })

  it('production code does not import test code, and core never imports the simulator (a separate program)', () => {
    expect(violations((e) => (inside(e.from, 'core') || inside(e.from, 'bin')) && !/\.test\.ts$/.test(e.from) && inside(e.to, 'test'))).toEqual([])
    expect(violations((e) => inside(e.from, 'core') && inside(e.to, 'hardware-sims'))).toEqual([])
  })
})
