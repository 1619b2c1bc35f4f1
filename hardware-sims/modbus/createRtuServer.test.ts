import { SerialPort } from 'serialport'
import { afterEach, describe, expect, it } from 'vitest'
import { crc16 } from '../../core/devices/modbus/crc16.ts'
import { openPtyPair, type PtyPair } from '../../test/support/ptyPair.ts'
import { createRtuServer, type RtuEndpoint } from './createRtuServer.ts'
import type { UnitDispatcher } from './UnitDispatcher.ts'

// A master on the serial line that writes requests back to back and never reads the
// answers (failure 5 of issue 11, on RTU): the server must stop reading the line rather
// than hold every answer in memory, and must not hoard bytes that never form a frame.
// Each answer is 255 bytes (125 registers).
const answerBytes = 1 + 1 + 1 + 250 + 2

function dispatcher(): UnitDispatcher & { dispatched: number; logged: string[] } {
  const answer = Buffer.alloc(2 + 250)
  answer[0] = 0x03
  answer[1] = 250
  return {
    dispatched: 0,
    logged: [],
    dispatch() {
      this.dispatched++
      return { pdu: answer, delayMs: 0 }
    },
    refusesConnections: () => false,
    log(m) {
      this.logged.push(m)
    },
  }
}

function requests(count: number): Buffer {
  const one = Buffer.from([1, 0x03, 0, 0, 0, 125, 0, 0])
  one.writeUInt16LE(crc16(one, 6), 6)
  return Buffer.concat(Array.from({ length: count }, () => one))
}

async function until(what: string, ok: () => boolean, maxTurns = 20_000): Promise<void> {
  for (let i = 0; i < maxTurns; i++) {
    if (ok()) return
    await new Promise((r) => setTimeout(r, 5))
  }
  throw new Error(`never happened: ${what}`)
}

let pty: PtyPair | undefined
let endpoint: RtuEndpoint | undefined
let master: SerialPort | undefined
afterEach(async () => {
  await new Promise<void>((r) => (master?.isOpen ? master.close(() => r()) : r()))
  await endpoint?.close()
  pty?.close()
})

async function openLine(d: UnitDispatcher) {
  pty = await openPtyPair()
  endpoint = await createRtuServer({ path: pty.a, baudRate: 115_200, parity: 'none', stopBits: 1 }, d)
  master = new SerialPort({ path: pty.b, baudRate: 115_200, autoOpen: false })
  await new Promise<void>((resolve, reject) => master!.open((e) => (e ? reject(e) : resolve())))
  return master
}
const droppedNow = () => (endpoint as Partial<RtuEndpoint> | undefined)?.stats?.().droppedRequests ?? 0

describe('createRtuServer: a master that does not read its answers', () => {
  it('drops requests while answers wait, as a busy device does, holds a bounded backlog, and answers again once read', { timeout: 120_000 }, async () => {
    // One burst the line carries before any answer is due (the server frames a whole read
    // before its first answer leaves): 1,000 answers would be 255 KB held for this master.
    // (A longer flood is not needed, and not testable here: once the line's buffer toward a
    // master that does not read is full, serialport stops polling the line for reads, its
    // poller waiting for one event at a time, so the server stops reading anyway.)
    const count = 1000
    const d = dispatcher()
    const line = await openLine(d)
    line.write(requests(count)) // no 'data' listener: the master does not read
    await until('the server has taken every request', () => d.dispatched + droppedNow() === count)
    expect(d.dispatched).toBeLessThan(count)
    const stats = endpoint!.stats()
    expect(stats.droppedRequests).toBe(count - d.dispatched)
    expect(stats.peakBufferedBytes).toBeLessThanOrEqual(stats.limits.bufferedBytes)
    expect(stats.queuedAnswers).toBeLessThanOrEqual(stats.limits.queuedAnswers)
    expect(d.logged[0]).toMatch(/^rtu .*: busy \(\d+ answers waiting, \d+ bytes unsent\): dropping requests until the master reads its answers$/)

    let received = 0
    line.on('data', (chunk: Buffer) => (received += chunk.length))
    await until('the answers drain', () => endpoint!.stats().bufferedBytes === 0 && endpoint!.stats().queuedAnswers === 0 && received === d.dispatched * answerBytes)
    const answered = d.dispatched
    line.write(requests(1))
    await until('the next request is answered', () => received === (answered + 1) * answerBytes)
    expect(d.dispatched).toBe(answered + 1)
    expect(endpoint!.stats().droppedRequests).toBe(count - answered)
    // One line when a busy spell starts and one when it ends, with the count.
    const spells = d.logged.map((m) => /^rtu .*: dropped (\d+) requests while busy$/.exec(m)?.[1]).filter(Boolean).map(Number)
    expect(spells.reduce((a, b) => a + b, 0)).toBe(count - answered)
    expect(d.logged.filter((m) => m.includes(': busy (')).length).toBe(spells.length)
  })

  it('drops a stream of bytes that never forms a frame instead of hoarding it', { timeout: 60_000 }, async () => {
    const d = dispatcher()
    const line = await openLine(d)
    // Function 0x41 has no known length: only silence could end it, and none comes.
    const garbage = Buffer.alloc(64 * 1024, 0x41)
    for (let i = 0; i < 15; i++) line.write(garbage)
    await new Promise<void>((resolve, reject) => line.write(garbage, (e) => (e ? reject(e) : resolve())))
    await new Promise<void>((r) => line.drain(() => r()))
    await until('the server logs what it dropped', () => d.logged.length > 0, 6_000)
    expect(d.logged[0]).toMatch(/^rtu .*: dropped \d+ bytes without a frame/)
    expect(Math.max(...d.logged.map((m) => m.length))).toBeLessThan(400)
    expect(endpoint!.stats().unparsedBytes).toBeLessThanOrEqual(endpoint!.stats().limits.unparsedBytes)
  })
})
