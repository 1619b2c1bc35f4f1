#!/usr/bin/env node
// Checks (and with --install, as root, installs) the Debian packages GridMesh's tests and
// benchmarks use as independent Modbus peers: mbpoll, pymodbus (Debian's, which only
// /usr/bin/python3 sees), socat for RTU pty pairs, libmodbus for the C baseline,
// Chromium for the HMI's end-to-end tests, and Mosquitto, the reference MQTT broker the
// live market's tests run against (test/support/mosquitto.ts starts its own instance).
// Without root it prints the apt-get line to run and exits non-zero.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'

const checks = [
  { pkg: 'mbpoll', ok: () => onPath('mbpoll') },
  { pkg: 'socat', ok: () => onPath('socat') },
  { pkg: 'python3-pymodbus', ok: () => pythonHas('pymodbus') },
  // pymodbus 3.0 only recommends these, but its client and server modules import them.
  { pkg: 'python3-serial', ok: () => pythonHas('serial') },
  { pkg: 'python3-serial-asyncio', ok: () => pythonHas('serial_asyncio') },
  { pkg: 'libmodbus-dev', ok: () => existsSync('/usr/include/modbus/modbus.h') },
  { pkg: 'gcc', ok: () => onPath('cc') },
  // The HMI's end-to-end tests and browser benchmarks drive Debian's Chromium with playwright-core.
  { pkg: 'chromium', ok: () => existsSync('/usr/bin/chromium') },
  // The broker (in /usr/sbin, off a user's PATH) and mosquitto_passwd for per-site credentials.
  { pkg: 'mosquitto', ok: () => existsSync('/usr/sbin/mosquitto') && existsSync('/usr/bin/mosquitto_passwd') },
  // The live market's TLS test makes its CA and broker certificate with the openssl command.
  { pkg: 'openssl', ok: () => onPath('openssl') },
]

function pythonHas(module) {
  return spawnSync('/usr/bin/python3', ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0
}

function onPath(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0
}

const missing = checks.filter((check) => !check.ok()).map((check) => check.pkg)
if (missing.length === 0) process.exit(0)

const install = process.argv.includes('--install')
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0
if (!install || !isRoot) {
  process.stderr.write(
    `system-deps: missing Debian packages: ${missing.join(' ')}\n` +
      `  install them with: sudo apt-get update && sudo apt-get install -y ${missing.join(' ')}\n`,
  )
  process.exit(1)
}
process.stderr.write(`system-deps: installing ${missing.join(' ')} with apt-get\n`)
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env })
execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: ['ignore', 'ignore', 'inherit'], env })
const still = checks.filter((check) => !check.ok()).map((check) => check.pkg)
if (still.length) {
  process.stderr.write(`system-deps: still missing after apt-get install: ${still.join(' ')}\n`)
  process.exit(1)
}
