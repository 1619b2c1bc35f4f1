import { describe, expect, it } from 'vitest'
import { fileURLToPath } from 'node:url'
import { loadSite, parseSite, SiteFileError } from './loadSite.ts'

const demo = fileURLToPath(new URL('../sites/demo.yaml', import.meta.url))

const problemsOf = (text: string): string[] => {
  try {
    parseSite(text, 'site.yaml')
  } catch (error) {
    if (error instanceof SiteFileError) return error.problems
    throw error
  }
  throw new Error('expected the site to be rejected')
}

const minimal = (devices: string) => `
name: t
location: { latitudeDeg: 50, longitudeDeg: 8, timezone: Europe/Berlin }
load: { peakW: 5000 }
devices:
${devices}`

describe('loadSite', () => {
  it('loads the bundled demo site with defaults filled in', () => {
    const site = loadSite(demo)
    expect(site.devices.map((d) => d.kind)).toEqual(['inverter', 'battery', 'meter'])
    expect(site.api).toEqual({ host: '127.0.0.1', port: 8600 })
  })

  it('names the path, the expectation and the value of a wrong field', () => {
    const problems = problemsOf(minimal(`  - { name: m, kind: meter, transport: { type: tcp, port: 502, unitId: 0 } }`))
    expect(problems).toEqual([expect.stringMatching(/^devices\[0\]\.transport\.unitId: .*>=1.*got 0$/)])
  })

  it('lists every problem at once, including unknown fields and cross-field rules', () => {
    const problems = problemsOf(minimal(`
  - { name: b, kind: battery, transport: { type: tcp, port: 502 }, capacityWh: 1000, maxChargeW: 1, maxDischargeW: 1, socMinPct: 60, socMaxPct: 50, colour: red }
  - { name: b, kind: meter, transport: { type: tcp, port: 502 } }`))
    expect(problems.some((p) => p.startsWith("devices[0]: unknown field(s) 'colour'"))).toBe(true)
    expect(problems).toContain('devices[1].name: duplicate device name \'b\'')
    expect(problems.some((p) => p.startsWith('devices[1].transport.unitId: tcp 127.0.0.1:502 unit 1 is already used by devices[0]'))).toBe(true)
  })

  it('rejects an unknown device kind and a bad time zone by path', () => {
    const problems = problemsOf(minimal(`  - { name: x, kind: heatpump, transport: { type: tcp, port: 1 } }`).replace('Europe/Berlin', 'Mars/Olympus'))
    expect(problems.some((p) => p.startsWith('location.timezone: an IANA time zone'))).toBe(true)
    expect(problems.some((p) => p.startsWith('devices[0].kind:'))).toBe(true)
  })

  it('reports YAML syntax errors and unreadable files as site file errors', () => {
    expect(problemsOf('name: [unclosed')[0]).toMatch(/^YAML /)
    expect(() => loadSite('/nonexistent/site.yaml')).toThrow(/\/nonexistent\/site.yaml: invalid site file[\s\S]*cannot read the file \(ENOENT\)/)
  })

  it('refuses an alias bomb, deep nesting and a huge file by name, without a stack trace', () => {
    const lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for (let i = 1; i < 9; i++) lines.push(`l${i}: &l${i} [${Array.from({ length: 9 }, () => `*l${i - 1}`).join(',')}]`)
    expect(problemsOf(minimal(`  - { name: m, kind: meter, transport: { type: tcp, port: 502 } }`) + '\n' + lines.join('\n'))).toEqual([
      expect.stringMatching(/^too many YAML aliases \(/),
    ])
    expect(problemsOf(`${'- '.repeat(100_000)}x`)).toEqual([expect.stringMatching(/^YAML nested deeper than 64 levels/)])
    expect(problemsOf(`# ${'x'.repeat(1_100_000)}`)).toEqual([expect.stringMatching(/^the file is larger than 1 MiB/)])
  })

  it('refuses a cyclic alias by name (its message used to throw TypeError: Converting circular structure to JSON)', () => {
    expect(problemsOf('name: &a [*a]\n')).toEqual(['a YAML alias refers to a node that contains it (a cycle); expected plain data'])
  })

  it('a battery with socMinPct above socMaxPct is refused at socMinPct', () => {
    const problems = problemsOf(minimal(`  - { name: b, kind: battery, transport: { type: tcp, port: 502 }, capacityWh: 1000, maxChargeW: 1, maxDischargeW: 1, socMinPct: 90, socMaxPct: 20, initialSocPct: 50 }`))
    expect(problems).toContain('devices[0].socMinPct: expected socMinPct < socMaxPct (20), got 90')
  })
})
