// Debian's Mosquitto (scripts/system-deps.js installs it) as the live market's reference
// broker in tests: its own config in a temporary folder, per-site credentials
// (mosquitto_passwd) and the protocol's ACLs (a site publishes only under its own site id,
// the operator only clearings), on an ephemeral port of 127.0.0.1; started, restarted and stopped here.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { createConnection, createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { maxLiveMessageBytes } from '../../core/market/live/liveMessageSchema.ts'
import type { MarketTopics } from '../../core/market/live/marketTopics.ts'

export const mosquittoBinary = '/usr/sbin/mosquitto'
export const mosquittoPasswdBinary = '/usr/bin/mosquitto_passwd'

/** Why Mosquitto cannot run here, or null when it can. */
export function mosquittoMissing(): string | null {
  for (const bin of [mosquittoBinary, mosquittoPasswdBinary]) if (!existsSync(bin)) return `${bin} is missing; install Debian's mosquitto (node scripts/system-deps.js --install)`
  return null
}

export type StartMosquittoParameters = {
  topics: MarketTopics
  /** site ids that get a user `site-<id>` with the protocol's ACL */
  sites: number[]
  /** users with a password and no ACL entry (they can connect and do nothing) */
  strangers?: string[]
  /** serve TLS with these PEM files instead of plain TCP */
  tls?: { caFile: string; certFile: string; keyFile: string }
}

export type Mosquitto = {
  url: string
  port: number
  dir: string
  /** user name -> password: `operator`, `site-<id>`, and the strangers */
  passwords: Record<string, string>
  /** what the broker printed (its log) */
  log(): string
  /** SIGTERM (the broker saves its sessions) and wait for the exit */
  stop(): Promise<void>
  /** SIGKILL, as a crash */
  kill(): Promise<void>
  /** start again on the same port with the same config and persistence */
  restart(): Promise<void>
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
}

function aclFile(topics: MarketTopics, sites: number[]): string {
  const lines = ['user operator', `topic read ${topics.all}`, `topic write ${topics.root}/clearing/#`, `topic write ${topics.presence(null)}`, '']
  for (const siteId of sites) {
    const user = topics.username(siteId)
    lines.push(`user ${user}`, `topic read ${topics.all}`, `topic write ${topics.root}/order/${user}/#`, `topic write ${topics.root}/reading/${user}/#`, `topic write ${topics.presence(siteId)}`, '')
  }
  return lines.join('\n')
}

/** Starts Mosquitto with per-site credentials and ACLs; the test must stop() it. */
export async function startMosquitto({ topics, sites, strangers = [], tls }: StartMosquittoParameters): Promise<Mosquitto> {
  const missing = mosquittoMissing()
  if (missing) throw new Error(missing)
  const dir = mkdtempSync(join(tmpdir(), 'mosquitto-'))
  mkdirSync(join(dir, 'data'))
  const passwords: Record<string, string> = {}
  for (const user of ['operator', ...sites.map((s) => topics.username(s)), ...strangers]) passwords[user] = randomBytes(12).toString('base64url')
  const passwdPath = join(dir, 'passwd')
  writeFileSync(passwdPath, '', { mode: 0o600 })
  for (const [user, password] of Object.entries(passwords)) execFileSync(mosquittoPasswdBinary, ['-b', passwdPath, user, password], { stdio: 'pipe' })
  writeFileSync(join(dir, 'acl'), aclFile(topics, sites), { mode: 0o600 })
  const port = await freePort()
  const isRoot = process.getuid?.() === 0
  const conf = [
    'per_listener_settings false',
    'allow_anonymous false',
    `password_file ${passwdPath}`,
    `acl_file ${join(dir, 'acl')}`,
    // run as root only when started by root: mosquitto would switch to its own user, which cannot read this folder
    ...(isRoot ? ['user root'] : []),
    'persistence true',
    `persistence_location ${join(dir, 'data')}/`,
    // the largest live message plus the MQTT header and topic
    `max_packet_size ${Math.max(...Object.values(maxLiveMessageBytes)) + 1024}`,
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    'log_type information',
    'connection_messages true',
    `listener ${port} 127.0.0.1`,
    ...(tls ? [`cafile ${tls.caFile}`, `certfile ${tls.certFile}`, `keyfile ${tls.keyFile}`] : []),
    '',
  ].join('\n')
  const confPath = join(dir, 'mosquitto.conf')
  writeFileSync(confPath, conf, { mode: 0o600 })

  let child: ChildProcess | null = null
  let output = ''
  const exited = () => !child || child.exitCode !== null || child.signalCode !== null
  const waitExit = () => (exited() ? Promise.resolve() : new Promise<void>((resolve) => child!.once('exit', () => resolve())))
  const start = async () => {
    child = spawn(mosquittoBinary, ['-c', confPath], { stdio: ['ignore', 'pipe', 'pipe'] })
    const proc = child
    proc.stdout!.on('data', (d: Buffer) => (output += d.toString()))
    proc.stderr!.on('data', (d: Buffer) => (output += d.toString()))
    const deadline = Date.now() + 20_000
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`mosquitto exited (${proc.exitCode ?? proc.signalCode}) while starting on port ${port}:\n${output}`)
      const open = await new Promise<boolean>((resolve) => {
        const socket = createConnection({ host: '127.0.0.1', port }, () => {
          socket.destroy()
          resolve(true)
        })
        socket.once('error', () => resolve(false))
      })
      if (open) return
      if (Date.now() > deadline) {
        proc.kill('SIGKILL')
        throw new Error(`mosquitto did not listen on 127.0.0.1:${port} within 20 s:\n${output}`)
      }
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  await start()
  return {
    url: `${tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`,
    port,
    dir,
    passwords,
    log: () => output,
    async stop() {
      if (exited()) return
      child!.kill('SIGTERM')
      await waitExit()
    },
    async kill() {
      if (exited()) return
      child!.kill('SIGKILL')
      await waitExit()
    },
    async restart() {
      if (!exited()) {
        child!.kill('SIGTERM')
        await waitExit()
      }
      await start()
    },
  }
}
