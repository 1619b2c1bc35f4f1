import type { PublicClient } from 'viem'

/**
 * The chain's clock, read between blocks: the wall clock plus the largest lead of a block's
 * timestamp over the wall clock seen so far. A dev chain whose time was moved ahead (anvil)
 * keeps running from there in real time; a real chain's blocks trail the wall clock, so it
 * is the wall clock. Never runs backwards.
 */
export function createChainClock({ client, nowMs = Date.now, realMs = Date.now }: { client: Pick<PublicClient, 'getBlock'>; nowMs?: () => number; realMs?: () => number }) {
  let leadMs = 0
  let lastMs = 0
  let mined: { s: bigint; atRealMs: number } | null = null
  return {
    /** reads the latest block; throws when the RPC is unreachable */
    async sample(): Promise<void> {
      const askedAt = realMs()
      const block = await client.getBlock()
      leadMs = Math.max(leadMs, Number(block.timestamp) * 1000 - nowMs())
      if (mined === null || block.timestamp > mined.s) mined = { s: block.timestamp, atRealMs: askedAt }
    },
    /**
     * The earliest timestamp the next block can have (null before the first sample): the latest
     * block's, plus the real time since it was read. Anvil runs on in real time from a block
     * whose time was set, and a real chain's next block comes later still. The clock above may
     * run ahead of that (the demo moves the chain to its 60x clock in 15 s steps; `nowMs` can
     * be a simulated clock): a transaction that reverts when a window has not passed yet waits
     * for this, not for the clock.
     */
    nextBlockS(): bigint | null {
      if (mined === null) return null
      return mined.s + BigInt(Math.max(0, Math.floor((realMs() - mined.atRealMs) / 1000)))
    },
    /** chain time in ms */
    nowMs(): number {
      lastMs = Math.max(lastMs, nowMs() + leadMs)
      return lastMs
    },
    /** chain time in whole seconds */
    nowS(): bigint {
      return BigInt(Math.floor(this.nowMs() / 1000))
    },
  }
}

export type ChainClock = ReturnType<typeof createChainClock>
