// Where the independent Modbus peers live. Python peers need Debian's /usr/bin/python3: it is
// the only interpreter that sees python3-pymodbus.
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const peersDir = dirname(fileURLToPath(import.meta.url))
export const repoRoot = join(peersDir, '..', '..')
export const python = '/usr/bin/python3'
export const sunspecWalk = join(peersDir, 'sunspec_walk.py')
export const sunspecServer = join(peersDir, 'sunspec_server.py')
export const buildDir = join(peersDir, '.build')
