import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { defaultHmiDir } from './serveHmi.ts'

const repo = fileURLToPath(new URL('../../', import.meta.url))

/**
 * Builds the HMI (`npm run build`) when renderer/dist is missing, so `npm ci && npm run
 * demo` opens in a browser without a separate step. Returns what happened, for the log;
 * a failed or impossible build leaves the API running without the HMI (it answers 503
 * at / with how to build it).
 */
export function ensureHmiBuilt(log: (message: string) => void, dir = defaultHmiDir): 'present' | 'built' | 'failed' {
  if (existsSync(join(dir, 'index.html'))) return 'present'
  let vite: string
  try {
    vite = join(createRequire(import.meta.url).resolve('vite/package.json'), '..', 'bin', 'vite.js')
  } catch {
    log('the HMI is not built and vite is not installed (npm ci installs it); the API runs without the HMI')
    return 'failed'
  }
  log('building the HMI (renderer/dist, once)…')
  const result = spawnSync(process.execPath, [vite, 'build', '--config', join(repo, 'renderer', 'vite.config.ts'), '--logLevel', 'warn'], { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' })
  if (result.status === 0 && existsSync(join(dir, 'index.html'))) return 'built'
  log(`the HMI build failed (run npm run build to see why): ${(result.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`)
  return 'failed'
}
