import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ensureHmiBuilt } from '../../core/api/ensureHmiBuilt.ts'

const repo = fileURLToPath(new URL('../../', import.meta.url))

/**
 * Builds the renderer and dist/ (`npm run build:app`) once when they are missing: test files
 * run in parallel processes, so one builds under a lock folder and the others wait for it
 * (a lock older than 10 minutes is a crashed run's and is taken over).
 */
export async function ensureAppBuilt(): Promise<void> {
  const ready = () => existsSync(join(repo, 'dist', 'electron', 'main.js')) && existsSync(join(repo, 'dist', 'renderer', 'dist', 'index.html')) && !existsSync(lock)
  const lock = join(repo, '.build-app.lock')
  for (;;) {
    if (ready()) return
    try {
      mkdirSync(lock)
    } catch {
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })!.mtimeMs > 600_000) rmSync(lock, { recursive: true, force: true })
      await new Promise((r) => setTimeout(r, 500))
      continue
    }
    try {
      if (ensureHmiBuilt(() => {}) === 'failed') throw new Error('the renderer build failed (npm run build)')
      const built = spawnSync(process.execPath, [join(repo, 'bin', 'run-ts.js'), join(repo, 'scripts', 'buildApp.ts')], { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' })
      if (built.status !== 0) throw new Error(`npm run build:app failed: ${built.stderr}`)
      return
    } finally {
      rmSync(lock, { recursive: true, force: true })
    }
  }
}
