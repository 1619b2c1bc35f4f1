import { execFile } from 'node:child_process'

export type PeerRun = { code: number | null; stdout: string; stderr: string; timedOut: boolean }

/** Runs a one-shot peer command (mbpoll, sunspec_walk.py) bounded by timeoutMs; never rejects on a non-zero exit. */
export function runPeer(command: string, args: string[], timeoutMs = 20_000): Promise<PeerRun> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && typeof error.code === 'string') {
        reject(new Error(`${command}: ${error.message}`, { cause: error }))
        return
      }
      const timedOut = Boolean(error?.killed)
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr, timedOut })
    })
  })
}
