import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { buildDir, peersDir } from './paths.ts'

export type CPeers = { client: string; server: string }

/** Compiles the libmodbus peers into test/peers/.build/ when missing or older than their source. */
export function buildCPeers(): CPeers {
  mkdirSync(buildDir, { recursive: true })
  const built = (name: string): string => {
    const source = join(peersDir, `${name}.c`)
    const binary = join(buildDir, name)
    if (existsSync(binary) && statSync(binary).mtimeMs >= statSync(source).mtimeMs) return binary
    // compile to a private name, then rename: a test and a bench may build at the same time
    const temporary = `${binary}.${process.pid}.tmp`
    try {
      execFileSync('cc', ['-O2', '-Wall', '-std=c11', '-I/usr/include/modbus', '-o', temporary, source, '-lmodbus', '-lpthread'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 60_000,
      })
    } catch (error) {
      const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? ''
      throw new Error(`cc ${name}.c failed (is libmodbus-dev installed?): ${stderr || String(error)}`, { cause: error })
    }
    renameSync(temporary, binary)
    return binary
  }
  return { client: built('modbus_bench_client'), server: built('modbus_bench_server') }
}
