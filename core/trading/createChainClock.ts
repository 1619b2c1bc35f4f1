import type { PublicClient } from 'viem'

/**
 * The chain's clock, read between blocks: the wall clock plus the largest lead of a block's
 * timestamp over the wall clock seen so far. A dev chain whose time was moved ahead (anvil)
 * keeps running from there in real time; a real chain's blocks trail the wall clock, so it
 * is the wall clock. Never runs backwards.
 */
export function createChainClock({ client, nowMs = Date.now }: { client: Pick<PublicClient, 'getBlock'>; nowMs?: () => number }) {
  let leadMs = 0
  let lastMs = 0
  return {
    /** reads the latest block; throws when the RPC is unreachable */
    async sample(): Promise<void> {
      const block = await client.getBlock()
      leadMs = Math.max(leadMs, Number(block.timestamp) * 1000 - nowMs())
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
