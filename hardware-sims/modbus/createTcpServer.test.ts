import { connect, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createTcpServer, type TcpEndpoint } from './createTcpServer.ts'
import type { UnitDispatcher } from './UnitDispatcher.ts'

// A client that pipelines requests and never reads the answers (failure 5 of issue 11:
// the simulator grew to 580 MB). Every request asks for 125 registers, so each answer
// is 259 bytes: 200,000 requests (2.4 MB sent) ask for 52 MB of answers.
const requests = 200_000
const answerBytes = 7 + 2 + 250
// Loopback socket buffers (both ends, autotuned) hold at most a few MB; anything past
// that was held by the server's memory.
const kernelSlackBytes = 16 * 1024 * 1024

function dispatcher(delayMs = 0): UnitDispatcher & { dispatched: number; logged: string[] } {
  const answer = Buffer.alloc(2 + 250)
  answer[0] = 0x03
  answer[1] = 250
  return {
    dispatched: 0,
    logged: [],
    dispatch() {
      this.dispatched++
      return { pdu: answer, delayMs }
    },
    refusesConnections: () => false,
    log(m) {
      this.logged.push(m)
    },
  }
}

function pipelined(count: number, firstTransaction = 1): Buffer {
  const out = Buffer.alloc(12 * count)
  for (let i = 0; i < count; i++) {
    const at = 12 * i
    out.writeUInt16BE((firstTransaction + i) & 0xffff, at)
    out.writeUInt16BE(0, at + 2)
    out.writeUInt16BE(6, at + 4)
    out[at + 6] = 1
    out[at + 7] = 0x03
    out.writeUInt16BE(0, at + 8)
    out.writeUInt16BE(125, at + 10)
  }
  return out
}

const open = (port: number) =>
  new Promise<Socket>((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s))
    s.once('error', reject)
  })

/** Polls a condition on the event loop (no clock involved in the verdict). */
async function until(what: string, ok: () => boolean, maxTurns = 20_000): Promise<void> {
  for (let i = 0; i < maxTurns; i++) {
    if (ok()) return
    await new Promise((r) => setTimeout(r, 5))
  }
  throw new Error(`never happened: ${what}`)
}

/** Reads `count` answers off `socket` and returns their transaction ids. */
function readAnswers(socket: Socket, count: number): Promise<number[]> {
  return new Promise((resolve) => {
    const ids: number[] = []
    let rest: Buffer = Buffer.alloc(0)
    const onData = (chunk: Buffer) => {
      rest = rest.length ? Buffer.concat([rest, chunk]) : chunk
      while (rest.length >= answerBytes) {
        ids.push(rest.readUInt16BE(0))
        rest = rest.subarray(answerBytes)
      }
      if (ids.length >= count) {
        socket.off('data', onData)
        resolve(ids)
      }
    }
    socket.on('data', onData)
    socket.resume()
  })
}

let endpoint: TcpEndpoint | undefined
// Optional so that a server without the statistics fails on the measurement, not on a missing method.
const pausedAny = () => (endpoint as Partial<TcpEndpoint> | undefined)?.connections?.().some((c) => c.paused) ?? false
const clients: Socket[] = []
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy()
  await endpoint?.close()
})

describe('createTcpServer: back-pressure on a client that does not read', () => {
  it('stops reading the client, holds a bounded backlog, serves others, and loses no answer', { timeout: 120_000 }, async () => {
    const d = dispatcher()
    endpoint = await createTcpServer('127.0.0.1', 0, d)
    const greedy = await open(endpoint.port)
    clients.push(greedy)
    greedy.pause() // never reads
    greedy.write(pipelined(requests))
    // Either the server pushed back (fixed) or it answered everything into memory (the bug).
    await until('the server pauses the client or answers every request', () => pausedAny() || d.dispatched === requests)
    expect(d.dispatched).toBeLessThan(requests)
    expect(d.dispatched * answerBytes).toBeLessThan(kernelSlackBytes)
    const [stats] = endpoint.connections()
    expect(stats!.bufferedBytes).toBeLessThanOrEqual(stats!.limits.bufferedBytes + answerBytes)
    expect(stats!.unparsedBytes).toBeLessThanOrEqual(stats!.limits.unparsedBytes)

    // Another client is served meanwhile.
    const other = await open(endpoint.port)
    clients.push(other)
    const answered = readAnswers(other, 1)
    other.write(pipelined(1, 4242))
    expect(await answered).toEqual([4242])

    // When the greedy client reads at last, every answer arrives, in order.
    const ids = await readAnswers(greedy, requests)
    expect(ids.length).toBe(requests)
    expect(ids.every((id, i) => id === ((1 + i) & 0xffff))).toBe(true)
    expect(d.dispatched).toBe(requests + 1)
    expect(endpoint.connections().every((c) => c.peakBufferedBytes <= c.limits.bufferedBytes + answerBytes)).toBe(true)
  })

  it('bounds the answers held back by a delay fault, too', { timeout: 60_000 }, async () => {
    const d = dispatcher(20)
    endpoint = await createTcpServer('127.0.0.1', 0, d)
    const greedy = await open(endpoint.port)
    clients.push(greedy)
    greedy.pause()
    greedy.write(pipelined(10_000))
    await until('the server pauses the client', () => pausedAny() || d.dispatched === 10_000)
    expect(d.dispatched).toBeLessThan(10_000)
    const [stats] = endpoint.connections()
    expect(stats!.queuedAnswers).toBeLessThanOrEqual(stats!.limits.queuedAnswers)
    expect(d.dispatched).toBeLessThanOrEqual(stats!.limits.queuedAnswers + 1)
  })
})
