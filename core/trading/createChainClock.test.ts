import { describe, expect, it } from 'vitest'
import { createChainClock } from './createChainClock.ts'

describe('createChainClock', () => {
  it('runs from a block ahead of the wall clock (a dev chain moved on), and stays there between blocks', async () => {
    let wallMs = 1_000_000
    let blockS = 2_000n
    const clock = createChainClock({ client: { getBlock: async () => ({ timestamp: blockS }) as never }, nowMs: () => wallMs })
    expect(clock.nowMs()).toBe(1_000_000) // nothing sampled yet: the wall clock
    await clock.sample()
    expect(clock.nowS()).toBe(2_000n)
    wallMs += 10_000 // no block since: the chain runs on in real time
    await clock.sample()
    expect(clock.nowS()).toBe(2_010n)
    blockS = 5_000n // moved ahead again
    await clock.sample()
    expect(clock.nowS()).toBe(5_000n)
  })

  it('is the wall clock on a chain whose blocks trail it, and never runs backwards', async () => {
    let wallMs = 1_000_000_000
    const clock = createChainClock({ client: { getBlock: async () => ({ timestamp: 999_988n }) as never }, nowMs: () => wallMs })
    await clock.sample()
    expect(clock.nowS()).toBe(1_000_000n)
    wallMs -= 5_000 // the wall clock steps back (NTP)
    expect(clock.nowS()).toBe(1_000_000n)
  })

  it('says the earliest time the next block can have: the latest block plus the real time since it was read, however far a simulated clock runs ahead', async () => {
    // the demo: the operator's clock is simulated (60x); its chain is moved to it in steps and runs in real time in between
    let realMs = 0
    let simMs = 2_000_000
    let blockS = 2_000n
    const clock = createChainClock({ client: { getBlock: async () => ({ timestamp: blockS }) as never }, nowMs: () => simMs, realMs: () => realMs })
    expect(clock.nextBlockS()).toBeNull() // nothing read yet
    await clock.sample()
    expect(clock.nextBlockS()).toBe(2_000n)
    realMs += 250 // a quarter second: 15 simulated seconds, but anvil's clock moved 0.25 s
    simMs += 15_000
    expect(clock.nowS()).toBe(2_015n) // the clock the gates run on
    expect(clock.nextBlockS()).toBe(2_000n) // what a transaction sent now is mined at, at least
    realMs += 2_000
    expect(clock.nextBlockS()).toBe(2_002n)
    blockS = 2_030n // the chain was moved on
    await clock.sample()
    expect(clock.nextBlockS()).toBe(2_030n)
    blockS = 2_010n // an older block from a lagging RPC node does not take it back
    await clock.sample()
    expect(clock.nextBlockS()).toBe(2_030n)
  })

  it('throws from sample when the chain cannot be read, and keeps its time', async () => {
    const clock = createChainClock({ client: { getBlock: async () => Promise.reject(new Error('connect ECONNREFUSED')) }, nowMs: () => 5_000 })
    await expect(clock.sample()).rejects.toThrow('ECONNREFUSED')
    expect(clock.nowMs()).toBe(5_000)
  })
})
