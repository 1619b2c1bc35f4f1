import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs'

/**
 * Writes `text` to `path` readable by this user only (0600), atomically, whatever is
 * already there. A mode given to open applies only when the file is created, so a
 * stale temporary file (say 0644, or a symlink planted by another user) is removed
 * first and the new one is created exclusively, then its mode is set on the open
 * descriptor, before the secret is written.
 */
export function writeSecretFile(path: string, text: string): void {
  const tmp = `${path}.tmp`
  rmSync(tmp, { force: true })
  const fd = openSync(tmp, 'wx', 0o600)
  try {
    fchmodSync(fd, 0o600)
    writeSync(fd, text)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, path)
}
