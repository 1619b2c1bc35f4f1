// The chain a market settles on: the embedded anvil (started and stopped here, its state
// kept in <data>/chain/anvil-state.json) or any EVM JSON-RPC endpoint from the site file.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { SiteMarket } from '../site/siteMarketSchema.ts'
import { BaseError } from '../errors/BaseError.ts'
import { redactRpcUrl } from './redactRpcUrl.ts'
import { AnvilStartError, startAnvil } from './startAnvil.ts'

/** The endpoint did not answer eth_chainId in time, or not as JSON-RPC. */
export class ChainUnreachableError extends BaseError {
  override name = 'ChainUnreachableError' as const
}

/** The endpoint serves another chain than the site file names. */
export class ChainIdMismatchError extends BaseError {
  override name = 'ChainIdMismatchError' as const
}

/** The embedded chain could not start on its state file (the file is left as it is). */
export class EmbeddedChainError extends BaseError {
  override name = 'EmbeddedChainError' as const
}

export type ChainSetting = SiteMarket['chain']

export type OpenChainParameters = {
  chain: ChainSetting
  /** the data folder; the embedded chain lives in `<dataDir>/chain/` */
  dataDir: string
  /** how long an RPC endpoint has to answer eth_chainId */
  timeoutMs?: number
  /** embedded: seconds between state dumps, bounding what a SIGKILL loses */
  stateIntervalSec?: number
}

export type OpenedChain = {
  rpcUrl: string
  chainId: number
  /** true for the anvil this call started (a dev chain that GridMesh owns) */
  embedded: boolean
  /** embedded: where the chain's state is kept */
  statePath: string | undefined
  /** things worth telling the user, e.g. a leftover anvil that was stopped first */
  notes: string[]
  /** embedded: stops anvil, which writes its state; otherwise nothing */
  stop(): Promise<void>
}

export const embeddedChainId = 31337

/** One JSON-RPC call with a bounded wait; any failure names the endpoint (without credentials). */
async function callRpc(rpcUrl: string, method: string, params: unknown[], timeoutMs: number): Promise<unknown> {
  const where = redactRpcUrl(rpcUrl)
  // fetch refuses URLs with credentials; send them as Basic auth like viem's http transport
  const url = new URL(rpcUrl)
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (url.username || url.password) {
    headers.authorization = `Basic ${btoa(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`)}`
    url.username = ''
    url.password = ''
  }
  let body: { result?: unknown; error?: { message?: string } } | null
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
      signal: AbortSignal.timeout(timeoutMs),
    })
    if (!res.ok) throw new ChainUnreachableError(`${where}: ${method} answered HTTP ${res.status}; expected an EVM JSON-RPC endpoint`)
    body = (await res.json()) as typeof body
  } catch (cause) {
    if (cause instanceof ChainUnreachableError) throw cause
    const reason = cause instanceof Error && cause.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : 'cannot connect'
    throw new ChainUnreachableError(`${where}: ${reason}; expected an EVM JSON-RPC endpoint (market.chain.rpcUrl in the site file)`, {
      details: cause instanceof Error ? ((cause.cause as Error | undefined)?.message ?? cause.message).split(url.toString()).join(where) : undefined,
    })
  }
  if (body?.error) throw new ChainUnreachableError(`${where}: ${method} failed: ${body.error.message ?? JSON.stringify(body.error)}`)
  return body?.result
}

/** eth_chainId of an endpoint. */
async function queryChainId(rpcUrl: string, timeoutMs: number): Promise<number> {
  const result = await callRpc(rpcUrl, 'eth_chainId', [], timeoutMs)
  if (typeof result !== 'string' || !/^0x[0-9a-f]+$/i.test(result))
    throw new ChainUnreachableError(`${redactRpcUrl(rpcUrl)}: eth_chainId returned ${JSON.stringify(result)}; expected a hex chain id`)
  return Number.parseInt(result, 16)
}

/** `<data>/chain/anvil.pid`: the embedded anvil and the process that started it. */
type PidRecord = { pid: number; ownerPid: number; rpcUrl: string }

/** True while `pid` runs; a zombie (exited, not yet reaped) counts as gone. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return true // no /proc: kill(0) has to do
  }
}

/** True when `pid` runs anvil on this state file (so a reused pid is never signalled). */
function isAnvilOn(pid: number, statePath: string): boolean {
  if (!isRunning(pid)) return false
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
    return argv.some((a) => a.endsWith('anvil')) && argv.includes(statePath)
  } catch {
    // no /proc (macOS, Windows): leave the process alone
    return false
  }
}

/**
 * The embedded chain has one owner. An anvil whose owner still runs means the data folder
 * is in use. An anvil whose owner is gone was left by a killed run (SIGKILL gives no chance
 * to stop it); it still dumps into the state file, so it is stopped with SIGTERM, which
 * makes it write its latest state for the new anvil to load.
 */
async function stopLeftoverAnvil(pidPath: string, statePath: string): Promise<string | null> {
  if (!existsSync(pidPath)) return null
  let record: PidRecord
  try {
    record = JSON.parse(readFileSync(pidPath, 'utf8')) as PidRecord
  } catch {
    return null // a torn pid file from a crash: nothing to stop by it
  }
  if (!Number.isInteger(record.pid) || !isAnvilOn(record.pid, statePath)) return null
  if (Number.isInteger(record.ownerPid) && isRunning(record.ownerPid))
    throw new EmbeddedChainError(
      `${statePath}: the embedded chain is in use by process ${record.ownerPid} (anvil pid ${record.pid} on ${record.rpcUrl}); expected one GridMesh per data folder`,
      { metaMessages: ['Stop the other GridMesh, or give this one its own data folder.'] },
    )
  process.kill(record.pid, 'SIGTERM')
  for (let waitedMs = 0; waitedMs < 15_000; waitedMs += 50) {
    await new Promise((r) => setTimeout(r, 50))
    if (!isRunning(record.pid))
      return `stopped anvil pid ${record.pid} (${record.rpcUrl}) left running on ${statePath} by a run that was killed; its state was saved first`
  }
  throw new EmbeddedChainError(`${statePath}: anvil pid ${record.pid} from an earlier run does not stop after SIGTERM; expected the state file to have one owner`, {
    metaMessages: [`Stop process ${record.pid}, then start again.`],
  })
}

/** Opens the market's chain: starts the embedded anvil on its saved state, or checks an RPC endpoint and its chain id. */
export async function openChain({ chain, dataDir, timeoutMs = 5_000, stateIntervalSec = 2 }: OpenChainParameters): Promise<OpenedChain> {
  if (chain !== 'embedded') {
    const chainId = await queryChainId(chain.rpcUrl, timeoutMs)
    if (chain.chainId !== undefined && chain.chainId !== chainId)
      throw new ChainIdMismatchError(
        `${redactRpcUrl(chain.rpcUrl)}: eth_chainId is ${chainId}; expected ${chain.chainId} (market.chain.chainId in the site file)`,
      )
    return { rpcUrl: chain.rpcUrl, chainId, embedded: false, statePath: undefined, notes: [], stop: async () => {} }
  }

  const dir = join(dataDir, 'chain')
  mkdirSync(dir, { recursive: true })
  const statePath = join(dir, 'anvil-state.json')
  const pidPath = join(dir, 'anvil.pid')
  const notes: string[] = []
  const leftover = await stopLeftoverAnvil(pidPath, statePath)
  if (leftover) notes.push(leftover)
  const prevPath = join(dir, 'anvil-state.prev.json')
  const hadState = existsSync(statePath)
  const whatToDo = [
    existsSync(prevPath)
      ? `${prevPath} holds the chain as it was at the start before (${statSync(prevPath).mtime.toISOString()}); to resume from there, move ${statePath} away and copy ${prevPath} to it.`
      : `There is no earlier copy (${prevPath}).`,
    `To start a new, empty chain, move ${statePath} away; the market recorded in ${join(dir, 'market.json')} lives on the old chain.`,
  ]
  // anvil rewrites its state file in place (truncate, then write): a kill or power loss in
  // between leaves it torn. Never start on a torn one, and keep the last one anvil loaded.
  let loaded: string | undefined
  if (hadState) {
    try {
      loaded = readFileSync(statePath, 'utf8')
      JSON.parse(loaded)
    } catch (cause) {
      throw new EmbeddedChainError(`${statePath}: not a complete anvil state; expected the JSON anvil writes (a kill while anvil was writing it leaves it torn). The file is left as it is`, {
        cause,
        metaMessages: whatToDo,
      })
    }
  }
  let anvil
  try {
    anvil = await startAnvil({ chainId: embeddedChainId, statePath, stateIntervalSec })
  } catch (cause) {
    if (!(cause instanceof AnvilStartError) || !hadState) throw cause
    throw new EmbeddedChainError(`${statePath}: anvil cannot load the embedded chain's state; expected a state file anvil wrote. The file is left as it is`, {
      cause,
      metaMessages: whatToDo,
    })
  }
  if (loaded !== undefined) {
    const tmp = `${prevPath}.${process.pid}.tmp`
    writeFileSync(tmp, loaded)
    renameSync(tmp, prevPath)
  }
  if (hadState) {
    // anvil stamps the next block with the wall clock, also when the saved chain is ahead of
    // it (time warped in a demo or test): chain time would run backwards. Resume it after
    // the last block instead; it advances in real time from there.
    try {
      const latest = (await callRpc(anvil.rpcUrl, 'eth_getBlockByNumber', ['latest', false], timeoutMs)) as { timestamp: string }
      const lastSec = Number.parseInt(latest.timestamp, 16)
      if (lastSec >= Math.floor(Date.now() / 1000)) await callRpc(anvil.rpcUrl, 'anvil_setTime', [lastSec + 1], timeoutMs)
    } catch (cause) {
      await anvil.stop()
      throw cause
    }
    notes.push(`embedded chain ${embeddedChainId} resumed from ${statePath} on ${anvil.rpcUrl}`)
  } else notes.push(`embedded chain ${embeddedChainId} started on ${anvil.rpcUrl}; its state is kept in ${statePath}`)
  // a listening anvil has a pid; the record lets the next start stop it if this process is killed
  const tmp = `${pidPath}.${process.pid}.tmp`
  writeFileSync(tmp, JSON.stringify({ pid: anvil.process.pid!, ownerPid: process.pid, rpcUrl: anvil.rpcUrl } satisfies PidRecord) + '\n')
  renameSync(tmp, pidPath)
  const stop = async () => {
    await anvil.stop()
    // only our own record: a later start may have taken over the state file already
    try {
      if ((JSON.parse(readFileSync(pidPath, 'utf8')) as PidRecord).pid === anvil.process.pid) rmSync(pidPath, { force: true })
    } catch {
      // no record, or a torn one: nothing of ours to remove
    }
  }
  return { rpcUrl: anvil.rpcUrl, chainId: embeddedChainId, embedded: true, statePath, notes, stop }
}
