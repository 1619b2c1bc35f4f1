// `gridmesh plan` end to end: the real dispatcher, a real file, the process's exit code.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { Plan } from '../../core/schedule/planSchedule.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const fixture = (name: string) => join('test', 'fixtures', 'schedule', name)

function gridmesh(...args: string[]) {
  const child = spawnSync(process.execPath, [join(root, 'bin', 'gridmesh.js'), ...args], { cwd: root, encoding: 'utf8' })
  return { status: child.status, stdout: child.stdout, stderr: child.stderr }
}

describe('gridmesh plan', () => {
  it('prints a table for the documented example and writes the plan JSON with --out', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gridmesh-plan-'))
    try {
      const out = join(dir, 'plan.json')
      const { status, stdout, stderr } = gridmesh('plan', '--input', fixture('example-plan.json'), '--out', out)
      expect(stderr).toBe('')
      expect(status).toBe(0)
      expect(stdout).toMatch(/^plan: 8 slots of 60 min from 2026-01-01T00:00:00\.000Z\nstatus: optimal/)
      const plan = JSON.parse(readFileSync(out, 'utf8')) as Plan
      const input = JSON.parse(readFileSync(join(root, fixture('example-plan.json')), 'utf8'))
      expect(plan).toMatchObject({ version: 1, status: 'optimal', objective: 'cost', startMs: input.startMs, unmetGoals: [] })
      expect(plan.slots).toHaveLength(input.slots.length)
      expect(typeof plan.objectiveValue).toBe('number')
      expect(stdout).toContain(`expected cost: ${plan.expectedCostEur.toFixed(4)} EUR`)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('prints JSON for forecast holes and impossible limits, listing reasons, with exit code 0', () => {
    const { status, stdout } = gridmesh('plan', '--input', fixture('holes-and-impossible-limits.json'), '--json')
    expect(status).toBe(0)
    const plan = JSON.parse(stdout) as Plan
    expect(plan.status).toBe('optimal')
    expect(plan.unmetGoals.map((goal) => goal.goal).sort()).toEqual(['end-soc-target', 'flexible-load-run-time', 'grid-import-limit'])
    expect(plan.warnings.map((warning) => warning.code).sort()).toEqual([
      'initial-soc-below-min',
      'missing-exportPriceEurPerKWh',
      'missing-importPriceEurPerKWh',
      'missing-loadPowerW',
      'missing-pvPowerW',
    ])
  })

  it('names the file, the path and the expectation for a malformed input, with exit code 1', () => {
    const { status, stdout, stderr } = gridmesh('plan', '--input', fixture('malformed-plan.json'))
    expect(status).toBe(1)
    expect(stdout).toBe('')
    expect(stderr).toContain(`${fixture('malformed-plan.json')}: slots[2].importPriceEurPerKWh: expected a number, got the string "n/a"`)
    expect(stderr).toContain(`${fixture('malformed-plan.json')}: battery.capacityWh: expected a number, got nothing (missing)`)
  })

  it('reports a missing file and a usage error (exit 2)', () => {
    const missing = gridmesh('plan', '--input', 'no/such/plan.json')
    expect(missing.status).toBe(1)
    expect(missing.stderr).toMatch(/no\/such\/plan\.json: file not found/)
    const usage = gridmesh('plan', '--json')
    expect(usage.status).toBe(2)
    expect(usage.stderr).toMatch(/--input FILE is required/)
  })
})
