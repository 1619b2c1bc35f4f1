// `electron-builder --dir` offline, with a stand-in Electron (a dummy executable, its
// version file and a locales folder): what goes into app.asar is checked here, the
// installers themselves need a machine with internet (electron/README.md).
import { execFileSync, spawnSync } from 'node:child_process'
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { ensureAppBuilt } from '../support/ensureAppBuilt.ts'

const repo = fileURLToPath(new URL('../../', import.meta.url))
const require = createRequire(import.meta.url)
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> }
const electronVersion = (JSON.parse(readFileSync(join(repo, 'node_modules', 'electron', 'package.json'), 'utf8')) as { version: string }).version
/** The asar's size limit: the app's JavaScript and data are ~5 MB, the rest is production dependencies (TF.js, esbuild for tsx, viem, solc, date-fns). */
const maxAsarBytes = 160e6

let out: string
let files: string[]

beforeAll(async () => {
  await ensureAppBuilt()
  const work = mkdtempSync(join(tmpdir(), 'gridmesh-package-'))
  const electronDist = join(work, 'electron-dist')
  mkdirSync(join(electronDist, 'locales'), { recursive: true })
  mkdirSync(join(electronDist, 'resources'))
  writeFileSync(join(electronDist, 'electron'), '#!/bin/sh\necho stand-in electron\n', { mode: 0o755 })
  writeFileSync(join(electronDist, 'version'), electronVersion)
  writeFileSync(join(electronDist, 'locales', 'en-US.pak'), 'x')
  out = join(work, 'out')
  const builder = join(repo, 'node_modules', '.bin', 'electron-builder')
  // npmRebuild off: rebuilding for Electron's ABI downloads its headers (the release machine does it).
  const run = spawnSync(builder, ['--dir', '--linux', `-c.electronDist=${electronDist}`, '-c.npmRebuild=false', `-c.directories.output=${out}`], { cwd: repo, encoding: 'utf8', env: { ...process.env, ELECTRON_BUILDER_OFFLINE: 'true' } })
  if (run.status !== 0) throw new Error(`electron-builder --dir failed (${run.status}):\n${run.stdout}\n${run.stderr}`)
  const asar = require('@electron/asar') as { listPackage(file: string, options: object): string[] }
  files = asar.listPackage(join(out, 'linux-unpacked', 'resources', 'app.asar'), {}).map((f) => f.replaceAll('\\', '/'))
}, 600_000)

describe('electron-builder --dir (stand-in Electron)', () => {
  it('holds the built main, preload, core process, CLI and renderer', () => {
    for (const file of ['/package.json', '/dist/electron/main.js', '/dist/electron/preload.cjs', '/dist/electron/coreProcess.js', '/dist/electron/pages/site-manager/index.html', '/dist/bin/gridmesh.js', '/dist/renderer/dist/index.html', '/dist/hardware-sims/sites/demo.yaml', '/dist/models/default/model.json']) expect(files, file).toContain(file)
    const manifest = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { main: string }
    expect(manifest.main).toBe('dist/electron/main.js')
  })

  it('holds every production dependency and no dev dependency', () => {
    const top = new Set(files.map((f) => /^\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f)?.[1]).filter(Boolean))
    for (const name of Object.keys(pkg.dependencies)) expect(top.has(name), name).toBe(true)
    for (const name of Object.keys(pkg.devDependencies)) expect(files.some((f) => f.startsWith(`/node_modules/${name}/`) || f.includes(`/node_modules/${name}/package.json`)), name).toBe(false)
  })

  it('holds nothing else: no TypeScript sources, tests, source maps, docs or repository folders', () => {
    const stray = files.filter((f) => /\.(ts|cts|mts|map)$/.test(f) || /^\/dist\/.*\.test\.js$/.test(f) || /^\/(core|electron|renderer\/src|test|bench|scripts|hardware-sims|contracts\/src|bin|models|docs)(\/|$)/.test(f))
    expect(stray).toEqual([])
    expect(files.filter((f) => /^\/[^/]+$/.test(f)).sort()).toEqual(['/dist', '/node_modules', '/package.json'])
  })

  it('is at most 160 MB, with the platform anvil beside it as an executable resource', () => {
    const bytes = statSync(join(out, 'linux-unpacked', 'resources', 'app.asar')).size
    process.stderr.write(`app.asar: ${(bytes / 1e6).toFixed(1)} MB, ${files.length} entries\n`)
    expect(bytes).toBeLessThan(maxAsarBytes)
    const anvil = join(out, 'linux-unpacked', 'resources', 'anvil', 'anvil')
    accessSync(anvil, constants.X_OK)
    expect(execFileSync(anvil, ['--version'], { encoding: 'utf8' })).toMatch(/anvil/i)
  })

  it('every dependency a packaged module names resolves inside the asar, as Node would find it', () => {
    const has = new Set(files)
    const missing: string[] = []
    for (const manifest of files.filter((f) => /\/node_modules\/(@[^/]+\/)?[^/]+\/package\.json$/.test(f))) {
      const dir = manifest.slice(0, -'/package.json'.length)
      let json: { dependencies?: Record<string, string>; peerDependencies?: Record<string, string>; peerDependenciesMeta?: Record<string, { optional?: boolean }>; optionalDependencies?: Record<string, string> }
      try {
        json = JSON.parse(readFileSync(join(repo, dir, 'package.json'), 'utf8'))
      } catch {
        continue
      }
      const needed = [...Object.keys(json.dependencies ?? {}), ...Object.keys(json.peerDependencies ?? {}).filter((p) => !json.peerDependenciesMeta?.[p]?.optional)].filter((d) => !(d in (json.optionalDependencies ?? {})) && !d.startsWith('@types/'))
      // @types/* are declarations only: nothing loads them at run time.
      for (const dep of needed) {
        let at = dir
        let found = false
        while (at && !found) {
          found = has.has(`${at}/node_modules/${dep}/package.json`)
          const up = at.lastIndexOf('/node_modules/')
          at = up > 0 ? at.slice(0, up) : ''
        }
        found ||= has.has(`/node_modules/${dep}/package.json`)
        if (!found) missing.push(`${dir} -> ${dep}`)
      }
    }
    expect(missing).toEqual([])
  })
})
