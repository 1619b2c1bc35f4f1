// One contender for a data folder, for lockDataDir's race test. It prints 'ready', then for
// each 'go' line tries to lock (so all contenders race from the same moment, their loading
// done) and prints 'locked …' or 'refused <message>'; a 'release' line releases what it
// holds; closing stdin releases and exits.
import { createInterface } from 'node:readline'
import { lockDataDir, type DataDirLock } from '../../core/api/lockDataDir.ts'

const dir = process.argv[2]!
let lock: DataDirLock | null = null
const input = createInterface({ input: process.stdin })
input.on('line', (line) => {
  if (line === 'release') {
    lock?.release()
    lock = null
    process.stdout.write('released\n')
    return
  }
  try {
    lock = lockDataDir(dir)
    process.stdout.write(`locked ${lock.tookOver ?? ''}\n`)
  } catch (error) {
    process.stdout.write(`refused ${(error as Error).message.split('\n')[0]}\n`)
  }
})
input.on('close', () => {
  lock?.release()
  process.exit(0)
})
process.stdout.write('ready\n')
