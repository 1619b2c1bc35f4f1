import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { loadSiteFile, SiteFileError } from './loadSiteFile.ts'

const head = `name: s\ndevices:\n  - name: meter1\n    connection: { type: tcp, host: 127.0.0.1 }\n`

function problemsOf(yaml: string): string[] {
  const file = join(mkdtempSync(join(tmpdir(), 'gm-site-')), 'site.yaml')
  writeFileSync(file, head + yaml)
  try {
    loadSiteFile(file)
  } catch (error) {
    expect(error).toBeInstanceOf(SiteFileError)
    expect(readFileSync(file, 'utf8')).toBe(head + yaml)
    return (error as SiteFileError).problems
  }
  return []
}

describe('site file market section', () => {
  it('defaults to the embedded chain and the createLocalMarket parameters', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'gm-site-')), 'site.yaml')
    writeFileSync(file, head + 'market: {}\n')
    expect(loadSiteFile(file).market).toEqual({
      chain: 'embedded',
      operatorKeyFile: 'keys/operator.json',
      intervalSec: 900,
      settleWindowSec: 86_400,
      disputeWindowSec: 3_600,
      penaltyBps: 2_000,
      bond: 1_000_000,
      unit: 1,
    })
    writeFileSync(file, head + 'market:\n  chain: { rpcUrl: "https://rpc.example.org/v1", chainId: 100 }\n  operatorKeyFile: /etc/gridmesh/op.json\n')
    expect(loadSiteFile(file).market?.chain).toEqual({ rpcUrl: 'https://rpc.example.org/v1', chainId: 100 })
    writeFileSync(file, head)
    expect(loadSiteFile(file).market).toBeUndefined()
  })

  it('names the path of every bad value', () => {
    expect(problemsOf('market:\n  chain: { rpcUrl: "ftp://rpc.example.org" }\n')).toEqual(['market.chain.rpcUrl: expected an http(s) URL'])
    expect(problemsOf('market:\n  chain: { rpcUrl: "http://127.0.0.1:8545", chainId: 0 }\n')).toEqual([
      expect.stringMatching(/^market\.chain\.chainId: .*got 0$/),
    ])
    expect(problemsOf('market:\n  chain: { rpcUrl: "http://127.0.0.1:8545", chainID: 5 }\n')).toEqual(["market.chain: unknown field(s) 'chainID'"])
    expect(problemsOf('market:\n  chain: anvil\n')).toEqual([`market.chain: expected 'embedded' or { rpcUrl, chainId? }, got "anvil"`])
    expect(problemsOf('market:\n  intervalSec: 90.5\n  penaltyBps: 20000\n  operatorKey: x\n')).toEqual([
      expect.stringMatching(/^market\.intervalSec: .*got 90\.5$/),
      expect.stringMatching(/^market\.penaltyBps: .*got 20000$/),
      "market: unknown field(s) 'operatorKey'",
    ])
    expect(problemsOf('market:\n  intervalSec: 60\n')).toEqual([expect.stringMatching(/^market: settleWindowSec \+ disputeWindowSec span more than 1021 intervals/)])
  })

  it('accepts the example in README.md', () => {
    const readme = readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'README.md'), 'utf8')
    const file = join(mkdtempSync(join(tmpdir(), 'gm-site-')), 'site.yaml')
    writeFileSync(file, /```yaml\n([\s\S]*?)```/.exec(readme)![1]!)
    expect(loadSiteFile(file).market).toMatchObject({ chain: 'embedded', operatorKeyFile: 'keys/operator.json', intervalSec: 900 })
  })
})
