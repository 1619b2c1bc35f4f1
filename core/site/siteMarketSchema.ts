import { z } from 'zod'
import { brokerSettingsSchema } from '../market/live/brokerSettingsSchema.ts'

const isHttpUrl = (value: string) => {
  try {
    const url = new URL(value)
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== ''
  } catch {
    return false
  }
}

/**
 * Where the site's market settles: the chain, the operator's key, and the market's parameters.
 * The parameters are used when the market is first deployed; after that `<data>/chain/market.json` and the contract hold them.
 */
export const siteMarketSchema = z
  .strictObject({
    /** `embedded` (default): GridMesh starts and stops anvil on 127.0.0.1, its state kept in `<data>/chain/`; or any EVM JSON-RPC endpoint. */
    chain: z
      .union(
        [
          z.literal('embedded'),
          z.strictObject({
            /** The JSON-RPC endpoint, http(s). */
            rpcUrl: z.string().refine(isHttpUrl, 'expected an http(s) URL'),
            /** When given, the endpoint's eth_chainId must equal it. */
            chainId: z.number().int().positive().optional(),
          }),
        ],
        { error: "expected 'embedded' or { rpcUrl, chainId? }" },
      )
      .default('embedded'),
    /** The operator's scrypt key file, relative to the data folder; opened with GRIDMESH_KEYSTORE_PASSPHRASE, created on the first deployment when missing. */
    operatorKeyFile: z.string().min(1).default('keys/operator.json'),
    /** Seconds per market interval. */
    intervalSec: z.number().int().min(60).max(86_400).default(900),
    /** How long after an interval ends it can be settled. */
    settleWindowSec: z.number().int().min(60).max(16_777_215).default(86_400),
    /** How long a settlement can be disputed before it is final. */
    disputeWindowSec: z.number().int().min(0).default(3_600),
    /** What a site pays its counterparty on energy it failed to deliver or take, in basis points of the price. */
    penaltyBps: z.number().int().min(0).max(10_000).default(2_000),
    /** Units an active site keeps in escrow. */
    bond: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(1_000_000),
    /**
     * The existing ERC-20 the market settles in (0x + 40 hex digits). Required on any chain but a local development
     * chain (chain id 31337, the embedded anvil), where GridMesh deploys an operator-mintable test token when it is omitted.
     */
    settlementToken: z
      .string()
      .regex(/^0x[0-9a-fA-F]{40}$/, 'expected the settlement token\'s address, 0x and 40 hex digits')
      .refine((a) => !/^0x0{40}$/.test(a), 'expected the settlement token\'s address, got the zero address')
      .optional(),
    /** Settlement-token base units per contract amount unit (1 for a 6-decimal stable token). */
    unit: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).default(1),
    /**
     * The community's deployed market (0x + 40 hex digits). A participant needs it; the operator deploys one on its
     * first start when it is omitted and keeps it in `<data>/chain/market.json` (issue 15).
     */
    address: z
      .string()
      .regex(/^0x[0-9a-fA-F]{40}$/, "expected the market contract's address, 0x and 40 hex digits")
      .optional(),
    /** This site as a participant of the live market: present = `serve` trades (issue 15, core/trading). */
    site: z
      .strictObject({
        /** The site's id in the market's registry (registered by the installer or the operator; the contract numbers sites from 0 in registration order). */
        id: z.number().int().min(0).max(65_535),
        /** The owner key (signs orders and presence) and the meter key (signs readings): scrypt key files, relative to the data folder. */
        ownerKeyFile: z.string().min(1).default('keys/owner.json'),
        meterKeyFile: z.string().min(1).default('keys/meter.json'),
        /** The most the site offers to buy / sell per interval, as power (W); default the control section's grid limits. */
        maxBuyPowerW: z.number().min(0).max(1e9).optional(),
        maxSellPowerW: z.number().min(0).max(1e9).optional(),
      })
      .optional(),
    /** The community's MQTT broker (core/market/PROTOCOL.md); required for live trading (a `site` or the operator). */
    broker: brokerSettingsSchema.optional(),
  })
  .refine((m) => 3 + Math.ceil((m.settleWindowSec + m.disputeWindowSec) / m.intervalSec) <= 1024, {
    message: 'settleWindowSec + disputeWindowSec span more than 1021 intervals; expected a longer intervalSec or shorter windows (the contract keeps at most 1024 interval records)',
  })

export type SiteMarket = z.infer<typeof siteMarketSchema>
