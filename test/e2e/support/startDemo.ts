import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const cli = fileURLToPath(new URL('../../../bin/gridmesh.js', import.meta.url))

export type RunningDemo = {
  /** The HMI's origin, e.g. http://127.0.0.1:40123 */
  url: string
  port: number
  /** The one-time sign-in link the demo printed, or null when it prints none (then `#token=` signs in). */
  signInUrl: string | null
  token: string
  simUrl: string
  output: () => string
  stop(): Promise<number | null>
}

/**
 * `gridmesh demo` as a user starts it (`node bin/gridmesh.js demo --port P --data DIR`: the
 * simulator on its fixed ports 5020-5022, which the commissioning panel scans by default),
 * resolved once it prints its URL, which it does after its week of measured history (a minute
 * or more on a loaded machine). Its own output is kept for the failure message.
 */
export function startDemo(dataDir: string, port = 0, timeoutMs = 240_000): Promise<RunningDemo> {
  const child: ChildProcess = spawn(process.execPath, [cli, 'demo', '--port', String(port), '--data', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  const output = () => `--- stdout\n${out.slice(-4000)}\n--- stderr\n${err.slice(-4000)}`
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    // The demo gives its market 60 s to stop its sites and chain before it kills them.
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000)
    const code = await exited
    clearTimeout(timer)
    return code
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop()
      reject(new Error(`demo did not print its URL within ${timeoutMs} ms\n${output()}`))
    }, timeoutMs)
    let firstUrlAtMs: number | null = null
    const check = () => {
      const urls = [...out.matchAll(/https?:\/\/127\.0\.0\.1:\d+[^\s]*/g)].map((m) => m[0])
      if (urls.length === 0) return
      firstUrlAtMs ??= Date.now()
      // The sign-in link follows the API line; a demo that prints none is given a moment.
      if (!urls.some((u) => /sign|login|code=|once/i.test(u)) && Date.now() - firstUrlAtMs < 3000) {
        setTimeout(check, 250)
        return
      }
      const first = new URL(urls[0]!)
      const signIn = urls.find((u) => /sign|login|code=|once/i.test(u)) ?? null
      const simUrl = /simulator API (http:\/\/[^\s,]+)/.exec(err)?.[1] ?? 'http://127.0.0.1:8600'
      clearTimeout(timer)
      let token = ''
      try {
        token = readFileSync(join(dataDir, 'api-token'), 'utf8').trim()
      } catch {
        // Without a token file only the sign-in link signs in.
      }
      resolve({ url: first.origin, port: Number(first.port), signInUrl: signIn, token, simUrl, output, stop })
    }
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d
      check()
    })
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d))
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`demo exited with ${code} before printing its URL\n${output()}`))
    })
  })
}
