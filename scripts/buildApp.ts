// Builds the JavaScript the desktop app and a packaged CLI run, so no tsx or type stripping
// is needed at run time: `npm run build:app` (after `npm run build`, the renderer).
//   1. tsc -p tsconfig.build.json -> dist/ (imports rewritten .ts -> .js; the preload .cts -> .cjs)
//   2. worker and child entries named as `new URL('./x.ts', import.meta.url)` point at x.js
//   3. the data files the code reads beside itself: SunSpec models, device profiles, the
//      demo site, the shipped load model and its data, the contracts (sources and compiled), the built
//      renderer and the site manager's page
//   4. dist/bin/gridmesh.js: the CLI entry without tsx
import { spawnSync } from 'node:child_process'
import { chmodSync, cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const repo = fileURLToPath(new URL('..', import.meta.url))
const dist = join(repo, 'dist')
const say = (line: string) => process.stderr.write(`build:app: ${line}\n`)

function walk(dir: string, visit: (file: string) => void): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') walk(path, visit)
    } else visit(path)
  }
}

rmSync(dist, { recursive: true, force: true })
const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc')
const started = performance.now()
const compiled = spawnSync(process.execPath, [tsc, '-p', join(repo, 'tsconfig.build.json')], { cwd: repo, stdio: 'inherit' })
if (compiled.status !== 0) {
  say('tsc failed; nothing else was done')
  process.exit(1)
}
say(`compiled in ${((performance.now() - started) / 1000).toFixed(1)} s`)

// Entries of workers and child processes are URLs to sibling files, not imports: tsc leaves them as .ts.
let entries = 0
walk(dist, (file) => {
  if (!file.endsWith('.js')) return
  const text = readFileSync(file, 'utf8')
  const next = text.replace(/new URL\((['"])(\.{1,2}\/[^'"]+)\.ts\1, import\.meta\.url\)/g, (whole, quote: string, base: string) => {
    if (!existsSync(resolve(dirname(file), `${base}.js`))) return whole
    entries++
    return `new URL(${quote}${base}.js${quote}, import.meta.url)`
  })
  if (next !== text) writeFileSync(file, next)
})
say(`${entries} worker/child entries point at their .js`)

// Data the code reads next to itself (through import.meta.url), copied to the same place under dist/.
const dataExtensions = new Set(['.json', '.yaml', '.yml', '.csv', '.bin', '.html', '.css', '.js', '.svg', '.png', '.txt'])
let copied = 0
for (const top of ['core', 'hardware-sims', 'models', 'electron/pages']) {
  walk(join(repo, top), (file) => {
    const ext = file.slice(file.lastIndexOf('.'))
    if (!dataExtensions.has(ext) || /\.test\.|[/\\]fixtures[/\\]/.test(file)) return
    if (ext === '.js' && !file.includes(`${join('electron', 'pages')}`)) return
    cpSync(file, join(dist, relative(repo, file)))
    copied++
  })
}
// contracts/src beside contracts/out: deployMarket takes the compiled contracts from out/'s cache by the sources' hash.
for (const dir of ['contracts/src', 'contracts/out', 'renderer/dist']) {
  if (!existsSync(join(repo, dir))) {
    say(`${dir} is missing (${dir === 'renderer/dist' ? 'npm run build' : 'npx tsx contracts/compile.ts'} makes it); the app will lack it`)
    continue
  }
  cpSync(join(repo, dir), join(dist, dir), { recursive: true })
}
say(`${copied} data files, contracts/src and out, and renderer/dist copied`)

// The CLI without tsx: the same dispatcher, compiled.
writeFileSync(join(dist, 'bin', 'gridmesh.js'), "#!/usr/bin/env node\n// The gridmesh CLI, compiled (scripts/buildApp.ts): no TypeScript loader at run time.\nawait import('./main.js')\n")
chmodSync(join(dist, 'bin', 'gridmesh.js'), 0o755)
// Node takes .js under dist/ as ES modules from the nearest package.json.
writeFileSync(join(dist, 'package.json'), `${JSON.stringify({ type: 'module', private: true }, null, 2)}\n`)
let bytes = 0
walk(dist, (file) => (bytes += statSync(file).size))
say(`dist/: ${(bytes / 1e6).toFixed(1)} MB`)
