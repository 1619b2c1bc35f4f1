// `gridmesh operator --site FILE [--data DIR]`: the community's clearing operator alone
// (no devices): startLiveOperator until SIGINT or SIGTERM.
import { dirname, resolve } from 'node:path'
import { parseFlags } from '../cli/parseFlags.ts'
import { loadSiteFile } from '../devices/site/loadSiteFile.ts'

const help = `usage: gridmesh operator --site FILE [--data DIR]

Runs the clearing operator of a live market community (issue 15): opens the chain the
site file's market section names (market.chain: the embedded anvil or an RPC endpoint),
deploys the market on the first start when the site file names no market.address (prints
the address; it is also in DIR/chain/market.json), joins the community's broker
(market.broker) with the operator key (DIR/keys/operator.json, sealed with
GRIDMESH_KEYSTORE_PASSPHRASE), and every interval, on the chain's clock: closes the gate a
tenth of an interval (at most 60 s) before the interval starts, clears the orders it
accepted with the deterministic auction, publishes the signed clearing and commits it in
one marketStep transaction that also settles an earlier interval (from its sites' signed
readings; missing ones are settled absent once the contract allows it) and finalizes the
intervals past their dispute window. Every transaction goes through a persistent outbox
(DIR/operator/outbox.db): after a kill -9 or an RPC outage nothing is sent twice or lost.
Writes its ledger (orders, clearings, readings, transactions, balances) to
DIR/operator/ledger.json. Register sites with 'gridmesh market register'.

  --site FILE   the operator's site file (its market section; devices are not used)
  --data DIR    the operator's data folder (default gridmesh-data)
`

/** Entry point of `gridmesh operator`; returns the exit code once stopped. */
export async function run(argv: string[]): Promise<number> {
  const flags = parseFlags('operator', argv, { site: { type: 'string' }, data: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, help)
  if (flags.help) {
    process.stdout.write(help)
    return 0
  }
  if (!flags.site) {
    process.stderr.write(`gridmesh operator: --site: missing\n\n${help}`)
    return 2
  }
  const site = loadSiteFile(flags.site)
  const { startLiveOperator } = await import('./startLiveOperator.ts')
  const say = (m: string) => process.stdout.write(`${m}\n`)
  const operator = await startLiveOperator({ site, dataDir: flags.data ?? 'gridmesh-data', siteFileDir: dirname(resolve(flags.site)), log: say })
  say(`operator running: market ${operator.market}`)
  operator.view.onEvent((e) => say(`${e.interval === null ? '' : `interval ${e.interval}: `}${e.kind}: ${e.detail}${e.tx ? ` (${e.tx})` : ''}`))
  await new Promise<void>((done) => {
    process.once('SIGINT', done)
    process.once('SIGTERM', done)
  })
  say('stopping the operator')
  await operator.stop()
  return 0
}
