// `gridmesh market <subcommand>`: the live market's provisioning (keys, register). The
// market demo (core/demo) adds itself as `demo` (core/demo/marketCli.ts), so this module
// imports nothing of core/demo.
import type { Address } from 'viem'
import { loadSiteFile } from '../devices/site/loadSiteFile.ts'
import { parseFlags } from '../cli/parseFlags.ts'
import { UsageError } from '../errors/BaseError.ts'

/** One `gridmesh market` subcommand: its line in the usage, its help and its runner. */
export type MarketSubcommand = { synopsis: string; summary: string; help: string; run: (argv: string[]) => Promise<number> }

const keysHelp = `usage: gridmesh market keys --data DIR

Creates a site's owner key (signs its orders and presence) and meter key (signs its meter
readings) as scrypt key files DIR/keys/owner.json and DIR/keys/meter.json, sealed with the
passphrase in GRIDMESH_KEYSTORE_PASSPHRASE (serve opens them with the same one). Files that
exist are kept. Prints both addresses as JSON: {"owner": "0x..", "meter": "0x.."}; give
them to the operator for 'gridmesh market register'.

  --data DIR   the site's data folder (serve --data)
`

const registerHelp = `usage: gridmesh market register --site OPERATOR_SITE_FILE --data OPERATOR_DATA --site-id N --owner 0x.. --meter 0x.. [--escrow UNITS] [--import-cap-wh WH] [--export-cap-wh WH]

The operator (or an installer it appointed) registers a site's keys in the market's on-chain
registry, with the operator key from OPERATOR_DATA (GRIDMESH_KEYSTORE_PASSPHRASE opens it).
When OPERATOR_DATA has no market yet, the market is deployed first from the site file's
market section (the operator's first start does the same) and recorded in
OPERATOR_DATA/chain/market.json. On a development chain (chain id 31337) it also mints test
tokens and deposits the site's bond and escrow; on a real chain the site's owner deposits
them. Registering a site again with the same keys changes nothing (tops the escrow up on a
dev chain). Prints the registration as JSON.

  --site FILE        the operator's site file (its market section: chain, parameters)
  --data DIR         the operator's data folder
  --site-id N        the site's registry id: sites are numbered from 0 in registration order,
                     so N is the next free id (or the id of a site already registered with these keys)
  --owner 0x..       the site's owner address (gridmesh market keys)
  --meter 0x..       the site's meter key address
  --escrow UNITS     dev chain: units deposited beyond the bond (default 100000000)
  --import-cap-wh WH the most the site may buy per interval (default 20000)
  --export-cap-wh WH the most the site may sell per interval (default 20000)
`

const address = (flag: string, value: string | undefined): Address => {
  if (value === undefined || !/^0x[0-9a-fA-F]{40}$/.test(value)) throw new UsageError(`gridmesh market register: --${flag}: expected an address 0x and 40 hex digits, got ${value === undefined ? 'nothing' : `'${value}'`}`)
  return value as Address
}
const integer = (flag: string, value: string | undefined, max: number): number | undefined => {
  if (value === undefined) return undefined
  if (!/^\d+$/.test(value) || Number(value) > max) throw new UsageError(`gridmesh market register: --${flag}: expected an integer 0-${max}, got '${value}'`)
  return Number(value)
}

/** The live market's subcommands. */
export const marketSubcommands: Record<string, MarketSubcommand> = {
  keys: {
    synopsis: 'keys --data DIR',
    summary: "create a site's owner and meter key files; prints their addresses",
    help: keysHelp,
    async run(argv) {
      const flags = parseFlags('market keys', argv, { data: { type: 'string' } }, keysHelp)
      if (!flags.data) throw new UsageError(`gridmesh market keys: --data: expected the site's data folder\n\n${keysHelp}`)
      const { provisionSiteKeys } = await import('./provisionSiteKeys.ts')
      const { owner, meter } = await provisionSiteKeys({ dataDir: flags.data })
      for (const k of [owner, meter]) process.stderr.write(`${k.created ? 'created' : 'kept'} ${k.path}\n`)
      process.stdout.write(`${JSON.stringify({ owner: owner.address, meter: meter.address })}\n`)
      return 0
    },
  },
  register: {
    synopsis: 'register --site FILE --data DIR --site-id N --owner 0x.. --meter 0x.. [--escrow UNITS]',
    summary: "register a site's keys in the market (operator); dev chain: fund its bond and escrow",
    help: registerHelp,
    async run(argv) {
      const spec = { site: { type: 'string' }, data: { type: 'string' }, 'site-id': { type: 'string' }, owner: { type: 'string' }, meter: { type: 'string' }, escrow: { type: 'string' }, 'import-cap-wh': { type: 'string' }, 'export-cap-wh': { type: 'string' } } as const
      const flags = parseFlags('market register', argv, spec, registerHelp)
      for (const f of ['site', 'data', 'site-id'] as const) if (!flags[f]) throw new UsageError(`gridmesh market register: --${f}: missing\n\n${registerHelp}`)
      const siteId = integer('site-id', flags['site-id'], 63)!
      const escrow = flags.escrow === undefined ? undefined : /^\d+$/.test(flags.escrow) ? BigInt(flags.escrow) : (() => { throw new UsageError(`gridmesh market register: --escrow: expected a whole number of units, got '${flags.escrow}'`) })()
      const site = loadSiteFile(flags.site!)
      const { provisionRegisterSite } = await import('./provisionRegisterSite.ts')
      const importCapWh = integer('import-cap-wh', flags['import-cap-wh'], 2 ** 28 - 1)
      const exportCapWh = integer('export-cap-wh', flags['export-cap-wh'], 2 ** 28 - 1)
      const result = await provisionRegisterSite({
        site,
        dataDir: flags.data!,
        siteId,
        owner: address('owner', flags.owner),
        meter: address('meter', flags.meter),
        ...(escrow === undefined ? {} : { escrowUnits: escrow }),
        ...(importCapWh === undefined ? {} : { importCapWh }),
        ...(exportCapWh === undefined ? {} : { exportCapWh }),
        log: (m) => process.stderr.write(`${m}\n`),
      })
      process.stdout.write(`${JSON.stringify(result, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`)
      return 0
    },
  },
}

/** Runs `gridmesh market <sub> ...` against a table of subcommands; returns the exit code. */
export async function runMarketCli(argv: string[], table: Record<string, MarketSubcommand> = marketSubcommands): Promise<number> {
  const [sub, ...rest] = argv
  const usage = `usage: gridmesh market <subcommand>\n\nsubcommands:\n${Object.values(table).map((c) => `  ${c.synopsis}\n      ${c.summary}`).join('\n')}\n\nRun 'gridmesh market <subcommand> --help' for its options.\n`
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(usage)
    return sub === undefined ? 2 : 0
  }
  const command = table[sub]
  if (!command) throw new UsageError(`gridmesh market: unknown subcommand '${sub}'; expected one of: ${Object.keys(table).join(', ')}`)
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.help)
    return 0
  }
  return command.run(rest)
}

/** Entry point of `gridmesh market` without the demo. */
export const run = (argv: string[]) => runMarketCli(argv)
