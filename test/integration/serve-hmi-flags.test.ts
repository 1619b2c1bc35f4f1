import { expect, it } from 'vitest'
import { runCli } from '../support/spawnSim.ts'

it.each([
  [['--site', 'x.yaml', '--sim-api', 'ftp://127.0.0.1:8600'], "--sim-api: expected the simulator's control API as http://HOST:PORT, got 'ftp://127.0.0.1:8600'"],
  [['--site', 'x.yaml', '--sim-api', 'http://u:secret@127.0.0.1:8600/api/state'], "--sim-api: expected the simulator's control API as http://HOST:PORT, got 'http://…@127.0.0.1:8600/api/state'"],
  [['--site', 'x.yaml', '--sim-api'], "--sim-api"],
])('gridmesh serve %j is a usage error naming --sim-api (and never echoes a password)', async (args, text) => {
  const r = await runCli(['serve', ...args])
  expect(r.code).toBe(2)
  expect(r.stderr).toContain(text)
  expect(r.stderr).not.toContain('secret')
})
