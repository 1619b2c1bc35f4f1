// vitest globalSetup: every test run gets one temporary root, and os.tmpdir() in the test
// workers and in the processes they spawn points into it (TMPDIR is inherited), so the
// temporary stores, key files, site files and data folders tests create are removed with
// it at the end of the run, also when a test failed half-way or killed a process with -9.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'gridmesh-tests-'))
  process.env.TMPDIR = root
  return () => rmSync(root, { recursive: true, force: true })
}
