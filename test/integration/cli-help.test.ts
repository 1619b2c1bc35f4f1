import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, it, vi } from 'vitest'

// README promises that every command takes --help: each command module listed in
// bin/main.ts answers it with its usage on stdout and exit code 0, starting nothing.
const main = readFileSync(new URL('../../bin/main.ts', import.meta.url), 'utf8')
const entries = [...main.matchAll(/^ {2}([a-z]+): \{\n[^}]*?load: \(\) => import\('([^']+)'\)/gm)].map((m) => [m[1]!, m[2]!] as const)

afterEach(() => {
  vi.restoreAllMocks()
})

async function help(modulePath: string, argv: string[]): Promise<{ code: number; out: string }> {
  let out = ''
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk)
    return true
  })
  const module = (await import(new URL(modulePath, new URL('../../bin/main.ts', import.meta.url)).href)) as { run: (argv: string[]) => Promise<number> }
  const code = await module.run(argv)
  return { code, out }
}

describe('--help', () => {
  it('finds every command of bin/main.ts', () => {
    expect(entries.map(([name]) => name)).toEqual(['demo', 'serve', 'sim', 'scan', 'read', 'commission', 'forecast', 'plan', 'export', 'backtest', 'soak', 'users', 'market', 'operator'])
  })

  it.each(entries)('gridmesh %s --help prints its usage and exits 0', async (name, modulePath) => {
    const { code, out } = await help(modulePath, ['--help'])
    expect(code).toBe(0)
    expect(out).toMatch(new RegExp(`usage: gridmesh ${name}`))
  })

  it('gridmesh market demo --help prints the demo usage', async () => {
    const { code, out } = await help('../core/demo/marketCli.ts', ['demo', '--help'])
    expect(code).toBe(0)
    expect(out).toMatch(/^usage: gridmesh market demo/)
  })
})
