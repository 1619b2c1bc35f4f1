import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadSiteFile, SiteFileError } from './loadSiteFile.ts'

// Bad site files a hostile or careless hand can write: each is refused by name with the
// path of what is wrong, and the file is left as it was.
const head = `name: s\ndevices:\n  - name: meter1\n    connection: { type: tcp, host: 127.0.0.1 }\n`

/** The laughs: each level refers to the one below nine times, 9^depth strings when expanded. */
function yamlAliasBomb(depth = 9): string {
  const lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
  for (let i = 1; i < depth; i++) lines.push(`l${i}: &l${i} [${Array.from({ length: 9 }, () => `*l${i - 1}`).join(',')}]`)
  return `${lines.join('\n')}\n`
}

function refusal(text: string): SiteFileError {
  const file = join(mkdtempSync(join(tmpdir(), 'gm-site-')), 'site.yaml')
  writeFileSync(file, text)
  try {
    loadSiteFile(file)
  } catch (error) {
    expect(error).toBeInstanceOf(SiteFileError)
    expect(readFileSync(file, 'utf8')).toBe(text)
    return error as SiteFileError
  }
  throw new Error('expected the site file to be refused')
}

describe('loadSiteFile refuses hostile YAML by name', () => {
  it('an alias bomb (billion laughs) is a SiteFileError, not a ReferenceError', () => {
    const error = refusal(head + yamlAliasBomb())
    expect(error.problems).toEqual([expect.stringMatching(/^too many YAML aliases \(/)])
    expect(error.message).toMatch(/site\.yaml: .*\n\ntoo many YAML aliases/)
  })

  it('deep nesting is refused before the YAML composer recurses (100,000 levels used to abort node)', () => {
    expect(refusal(head + `x:\n  ${'- '.repeat(100_000)}1\n`).problems).toEqual([expect.stringMatching(/^YAML nested deeper than 64 levels/)])
    expect(refusal(head + `x: ${'['.repeat(5_000)}${']'.repeat(5_000)}\n`).problems).toEqual([expect.stringMatching(/^YAML nested deeper than 64 levels/)])
  })

  it('a file larger than 1 MiB is refused by its size', () => {
    expect(refusal(head + `# ${'x'.repeat(1_100_000)}\n`).problems).toEqual([expect.stringMatching(/^the file is larger than 1 MiB/)])
  })
})

describe('loadSiteFile checks values a schema type alone lets through', () => {
  it('an unknown time zone is refused at timezone, not blamed on a flag', () => {
    expect(refusal(head.replace('name: s\n', 'name: s\ntimezone: Mars/Olympus_Mons\n')).problems).toEqual([
      'timezone: expected an IANA time zone such as Europe/Berlin, got "Mars/Olympus_Mons"',
    ])
  })

  it('control.battery socMinPct above socMaxPct names the field and both values', () => {
    expect(refusal(head + 'control:\n  battery: { socMinPct: 90, socMaxPct: 20 }\n').problems).toEqual([
      'control.battery.socMinPct: expected below socMaxPct (20), got 90',
    ])
  })

  it('device limits socMinPct above socMaxPct names the field', () => {
    expect(refusal(head.replace('host: 127.0.0.1 }', 'host: 127.0.0.1 }\n    limits: { socMinPct: 80, socMaxPct: 30 }')).problems).toEqual([
      'devices[0].limits.socMinPct: expected below socMaxPct (30), got 80',
    ])
  })

  it('.inf and .nan are refused where numbers are expected', () => {
    const problems = refusal(head + 'control:\n  grid: { maxImportW: .inf }\n  pv: { peakPowerKw: .nan }\n').problems
    expect(problems).toHaveLength(2)
    expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(/^control\.pv\.peakPowerKw: /), expect.stringMatching(/^control\.grid\.maxImportW: /)]))
  })
})
