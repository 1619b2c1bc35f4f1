// `npm start` (site manager) and `npm run demo` (--demo): the desktop app. Builds what is
// missing (the renderer, then dist/), fetches the Electron binary when the install step did
// not (install scripts are denied in package.json), and opens the window. Where Electron
// cannot run (no binary and no download, or no display), it says so in one line and serves
// the same HMI headless (`gridmesh demo`), which prints the URL to open. Ctrl-C stops it all.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const repo = fileURLToPath(new URL('..', import.meta.url))
const args = process.argv.slice(2)
const demo = args.includes('--demo')
const say = (line: string) => process.stderr.write(`${line}\n`)

function electronBinary(): string | null {
  const dir = join(repo, 'node_modules', 'electron')
  const pathFile = join(dir, 'path.txt')
  const located = () => (existsSync(pathFile) ? join(dir, 'dist', readFileSync(pathFile, 'utf8').trim()) : null)
  const found = located()
  if (found && existsSync(found)) return found
  if (!existsSync(join(dir, 'install.js'))) return null
  // The install step was skipped (allowScripts): fetch it now, once; quiet unless it works.
  const fetched = spawnSync(process.execPath, [join(dir, 'install.js')], { cwd: dir, encoding: 'utf8', timeout: 300_000 })
  const after = located()
  return fetched.status === 0 && after && existsSync(after) ? after : null
}

function run(command: string, argv: string[], extraEnv: Record<string, string> = {}): Promise<number> {
  const child = spawn(command, argv, { cwd: repo, stdio: 'inherit', env: { ...process.env, ...extraEnv } })
  const forward = (signal: NodeJS.Signals) => child.kill(signal)
  process.on('SIGINT', forward)
  process.on('SIGTERM', forward)
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 130 : 1))))
}

const headless = (reason: string) => {
  say(`gridmesh: no desktop window (${reason}); serving the same HMI headless instead: open the link printed below`)
  return run(process.execPath, [join(repo, 'bin', 'gridmesh.js'), 'demo', ...args.filter((a) => a !== '--demo')])
}

const binary = electronBinary()
let code: number
if (!binary) code = await headless('the Electron binary is not installed and could not be downloaded here; on a machine with internet `npm start` fetches it')
else if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) code = await headless('no display: DISPLAY and WAYLAND_DISPLAY are unset')
else {
  if (!existsSync(join(repo, 'renderer', 'dist', 'index.html')) && spawnSync('npm', ['run', 'build'], { cwd: repo, stdio: 'inherit' }).status !== 0) throw new Error('the renderer build failed (npm run build)')
  if (!existsSync(join(repo, 'dist', 'electron', 'main.js')) && spawnSync(process.execPath, [join(repo, 'bin', 'run-ts.js'), join(repo, 'scripts', 'buildApp.ts')], { cwd: repo, stdio: 'inherit' }).status !== 0) throw new Error('the app build failed (npm run build:app)')
  code = await run(binary, ['.', ...(demo ? ['--demo'] : []), ...args.filter((a) => a !== '--demo')])
}
process.exit(code)
