import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SerialPort } from 'serialport'
import { crc16 } from '../../core/devices/modbus/crc16.ts'
import { startSimulator, type Simulator } from '../../hardware-sims/startSimulator.ts'
import { openPtyPair, type PtyPair } from '../support/ptyPair.ts'
import { testSite } from '../support/simSites.ts'

// Raw RTU frames over a socat pty pair: CRC, framing and addressing on a shared bus.
let pty: PtyPair
let sim: Simulator
let line: SerialPort
let received: Buffer = Buffer.alloc(0)

const frame = (bytes: number[]) => {
  const body = Buffer.from(bytes)
  const out = Buffer.alloc(body.length + 2)
  body.copy(out)
  out.writeUInt16LE(crc16(body), body.length)
  return out
}
const exchange = async (bytes: Buffer, waitMs = 300) => {
  received = Buffer.alloc(0)
  line.write(bytes)
  const until = Date.now() + waitMs
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, 20))
    if (received.length >= 5 && crc16(received, received.length - 2) === received.readUInt16LE(received.length - 2)) break
  }
  return received
}

beforeAll(async () => {
  pty = await openPtyPair()
  sim = await startSimulator(
    testSite({
      devices: [
        { name: 'meterR', kind: 'meter', transport: { type: 'rtu', path: pty.a, baudRate: 19200, unitId: 3 } },
        { name: 'pvR', kind: 'inverter', transport: { type: 'rtu', path: pty.a, baudRate: 19200, unitId: 4 }, ratedW: 3000 },
      ],
    }),
    { log: () => {} },
  )
  line = new SerialPort({ path: pty.b, baudRate: 19200, autoOpen: false })
  await new Promise<void>((resolve, reject) => line.open((e) => (e ? reject(e) : resolve())))
  line.on('data', (d: Buffer) => (received = Buffer.concat([received, d])))
})
afterAll(async () => {
  await new Promise<void>((r) => (line?.isOpen ? line.close(() => r()) : r()))
  await sim?.close()
  pty?.close()
})

describe('simulator over Modbus RTU', () => {
  it('answers each unit on the shared line with a CRC-checked frame', async () => {
    const meter = await exchange(frame([3, 3, 0x9c, 0x40, 0, 2]))
    expect([...meter]).toEqual([...frame([3, 3, 4, 0x53, 0x75, 0x6e, 0x53])])
    const pv = await exchange(frame([4, 3, 0x9c, 0x42, 0, 1]))
    expect([...pv]).toEqual([...frame([4, 3, 2, 0, 1])]) // model 1 header
  })

  it('drops a frame with a bad CRC and stays in step for the next one', async () => {
    const bad = frame([3, 3, 0x9c, 0x40, 0, 2])
    bad[bad.length - 1]! ^= 0xff
    expect((await exchange(bad, 300)).length).toBe(0)
    expect([...(await exchange(frame([3, 3, 0x9c, 0x40, 0, 1])))]).toEqual([...frame([3, 3, 2, 0x53, 0x75])])
  })

  it('stays silent for other units and for broadcasts, and answers exceptions', async () => {
    expect((await exchange(frame([9, 3, 0x9c, 0x40, 0, 1]), 300)).length).toBe(0)
    expect((await exchange(frame([0, 3, 0x9c, 0x40, 0, 1]), 300)).length).toBe(0)
    expect([...(await exchange(frame([3, 0x2b, 0x0e, 0x01, 0x00]), 600))]).toEqual([...frame([3, 0xab, 0x01])])
    expect([...(await exchange(frame([3, 3, 0, 0, 0, 1])))]).toEqual([...frame([3, 0x83, 0x02])])
  })
})
