import { spawn, type ChildProcess } from 'node:child_process'

export type PtyPair = { a: string; b: string; close(): void }

/** Two linked pseudo-terminals from socat, a stand-in for an RS-485 line. */
export function openPtyPair(timeoutMs = 5000): Promise<PtyPair> {
  const child: ChildProcess = spawn('socat', ['-d', '-d', 'pty,raw,echo=0', 'pty,raw,echo=0'], { stdio: ['ignore', 'ignore', 'pipe'] })
  let text = ''
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill()
      reject(new Error(`socat did not report two ptys in ${timeoutMs} ms: ${text}`))
    }, timeoutMs)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(new Error(`cannot run socat (install Debian's socat): ${error.message}`))
    })
    child.stderr!.on('data', (d: Buffer) => {
      text += d.toString()
      const paths = [...text.matchAll(/PTY is (\S+)/g)].map((m) => m[1]!)
      if (paths.length >= 2) {
        clearTimeout(timer)
        resolve({ a: paths[0]!, b: paths[1]!, close: () => child.kill() })
      }
    })
  })
}
