import { closeSync, openSync, readSync } from 'node:fs'

/**
 * Reads a UTF-8 file of at most maxBytes; returns undefined when it is longer. Reads in
 * chunks, so a huge file, /dev/zero or an endless pipe costs maxBytes, not all memory.
 */
export function readBoundedTextFile(file: string, maxBytes: number): string | undefined {
  const fd = openSync(file, 'r')
  try {
    const buffer = Buffer.alloc(maxBytes + 1)
    let length = 0
    while (length < buffer.length) {
      const read = readSync(fd, buffer, length, buffer.length - length, null)
      if (read === 0) break
      length += read
    }
    return length > maxBytes ? undefined : buffer.toString('utf8', 0, length)
  } finally {
    closeSync(fd)
  }
}
