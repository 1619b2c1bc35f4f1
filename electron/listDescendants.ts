import { execFile } from 'node:child_process'

/** A process below another: its pid and its command line, to know it again later. */
export type DescendantProcess = { pid: number; args: string }

/**
 * Every running process below `rootPid` (children, theirs, ...), from the process table
 * (`ps`, on Linux and macOS). Empty where there is no ps (Windows) or it fails: the
 * caller then knows only the children it was told about. Zombies are not running.
 */
export function listDescendants(rootPid: number): Promise<DescendantProcess[]> {
  if (process.platform === 'win32') return Promise.resolve([])
  return new Promise((resolve) => {
    execFile('ps', ['-A', '-o', 'pid=,ppid=,stat=,args='], { maxBuffer: 8 << 20 }, (error, stdout) => {
      if (error) return resolve([])
      const rows = stdout
        .split('\n')
        .map((line) => /^\s*(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(line))
        .filter((m): m is RegExpExecArray => m !== null && !m[3]!.startsWith('Z'))
        .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: m[4]! }))
      const found: DescendantProcess[] = []
      const seen = new Set([rootPid])
      for (let added = true; added; ) {
        added = false
        for (const row of rows) {
          if (seen.has(row.pid) || !seen.has(row.ppid)) continue
          seen.add(row.pid)
          found.push({ pid: row.pid, args: row.args })
          added = true
        }
      }
      resolve(found)
    })
  })
}
