import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createModbusClient, type ModbusClient } from '../../core/devices/modbus/createModbusClient.ts'
import { createTcpTransport } from '../../core/devices/modbus/createTcpTransport.ts'
import { ModbusDeviceBackoffError } from '../../core/devices/modbus/errors.ts'
import { startSimulator, type Simulator } from '../../hardware-sims/startSimulator.ts'
import { testSite } from '../support/simSites.ts'

// Issue 11, slow reconnect: the per-unit backoff reached 60 s between tries, so a device that
// came back could wait a minute before it was read again. The client now probes a skipped
// device in the background every second (a refused connect costs a millisecond, a probe
// that times out holds up no one) and uses it again as soon as it answers. Real clock, real
// simulator; the client's own clock is moved ahead to stand for minutes of failures.
let sim: Simulator
const clients: ModbusClient[] = []
const faults = (device: string, body: unknown) =>
  fetch(`${sim.apiUrl}/api/devices/${device}/faults`, { method: body === null ? 'DELETE' : 'PUT', body: body === null ? undefined : JSON.stringify(body) })
const drop = (device: string) => fetch(`${sim.apiUrl}/api/devices/${device}/disconnect`, { method: 'POST' })
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

beforeAll(async () => {
  sim = await startSimulator(testSite({ devices: [{ name: 'meter', kind: 'meter', transport: { type: 'tcp', port: 0, unitId: 1 } }] }), { log: () => {} })
})
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
  await faults('meter', null)
})
afterAll(async () => {
  await sim.close()
})

/** A client with the defaults serve uses, on a clock the test can move. */
function client() {
  let offsetMs = 0
  const port = sim.ready.find((r) => r.device === 'meter')!.port!
  const c = createModbusClient(createTcpTransport({ host: '127.0.0.1', port }), { timeoutMs: 300, retries: 0, now: () => Date.now() + offsetMs })
  clients.push(c)
  return { c, skipAheadMs: (ms: number) => (offsetMs += ms) }
}

/** Fails the device for what stands for ten minutes of one-second polls (each minute, the client's clock jumps). */
async function failForTenMinutes(c: ModbusClient, skipAheadMs: (ms: number) => void) {
  let failed = 0
  for (let minute = 0; minute < 10; minute++) {
    if (minute > 0) skipAheadMs(60_000)
    for (let i = 0; i < 5; i++) {
      failed += await c.readHoldingRegisters(1, 40000, 2).then(() => 0, () => 1)
      await sleep(20)
    }
  }
  expect(failed).toBe(50)
}

/** Polls every 100 ms until a read succeeds: how many polls failed first, and how long it took. */
async function pollUntilAnswered(c: ModbusClient) {
  const started = performance.now()
  let failedPolls = 0
  for (;;) {
    try {
      await c.readHoldingRegisters(1, 40000, 2)
      return { failedPolls, elapsedMs: performance.now() - started }
    } catch (error) {
      failedPolls++
      if (performance.now() - started > 15_000) throw new Error(`still failing after 15 s (${failedPolls} polls): ${(error as Error).message}`)
      await sleep(100)
    }
  }
}

describe('reconnecting to a device that comes back (issue 11)', () => {
  it('a device that refused connections for minutes is read again within about a second of accepting them', { timeout: 60_000 }, async () => {
    const { c, skipAheadMs } = client()
    expect([...(await c.readHoldingRegisters(1, 40000, 2))]).toEqual([0x5375, 0x6e53])
    await faults('meter', { refuseConnections: true })
    await drop('meter')
    await failForTenMinutes(c, skipAheadMs)
    // Skipped meanwhile: polls fail fast instead of each trying to connect.
    await expect(c.readHoldingRegisters(1, 40000, 2)).rejects.toThrow(ModbusDeviceBackoffError)
    await faults('meter', null)
    const { failedPolls, elapsedMs } = await pollUntilAnswered(c)
    console.log(`refused for 10 min (client clock): read again after ${failedPolls} failed polls, ${Math.round(elapsedMs)} ms`)
    // One background probe a second: at most ~1 s of 100 ms polls (generous for a loaded machine).
    expect(failedPolls).toBeLessThanOrEqual(20)
    expect(elapsedMs).toBeLessThan(5000)
  })

  it('a device that stopped answering (timeouts) is read again within about a second of answering, without a poll waiting for a timeout meanwhile', { timeout: 60_000 }, async () => {
    const { c, skipAheadMs } = client()
    await c.readHoldingRegisters(1, 40000, 2)
    await faults('meter', { noResponse: true })
    await failForTenMinutes(c, skipAheadMs)
    // While skipped, a poll fails at once (the probe runs in the background, not in the poll).
    await expect(c.readHoldingRegisters(1, 40000, 2)).rejects.toThrow(ModbusDeviceBackoffError)
    await faults('meter', null)
    const { failedPolls, elapsedMs } = await pollUntilAnswered(c)
    console.log(`silent for 10 min (client clock): read again after ${failedPolls} failed polls, ${Math.round(elapsedMs)} ms`)
    expect(failedPolls).toBeLessThanOrEqual(20)
    expect(elapsedMs).toBeLessThan(5000)
  })
})
