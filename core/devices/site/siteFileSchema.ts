import { z } from 'zod'

const tcp = z.strictObject({
  type: z.literal('tcp'),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(502),
  connectTimeoutMs: z.number().int().positive().max(60_000).optional(),
  connectDelayMs: z.number().int().min(0).max(60_000).optional(),
})
const rtu = z.strictObject({
  type: z.literal('rtu'),
  path: z.string().min(1),
  baudRate: z.number().int().positive().default(9600),
  parity: z.enum(['none', 'even', 'odd']).default('none'),
  stopBits: z.union([z.literal(1), z.literal(2)]).default(1),
})

export const siteDeviceSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,31}$/, 'a name of letters, digits, _ or -, starting with a letter'),
  connection: z.discriminatedUnion('type', [tcp, rtu]),
  unitId: z.number().int().min(0).max(255).default(1),
  /** `sunspec`, or `profile:<id>` for a device described by a profile file. */
  driver: z.string().regex(/^(sunspec|profile:[a-z0-9][a-z0-9-]*)$/, "'sunspec' or 'profile:<id>'").default('sunspec'),
  /** Where the SunSpec map starts, when known (skips trying the other bases). */
  sunspecBase: z.union([z.literal(0), z.literal(40000), z.literal(50000)]).optional(),
  timeoutMs: z.number().int().positive().max(30_000).default(1000),
  /** For profile devices: the installation's ratings (profiles carry none); writes are clamped to them. */
  limits: z
    .strictObject({
      ratedW: z.number().positive().optional(),
      maxChargeW: z.number().positive().optional(),
      maxDischargeW: z.number().positive().optional(),
      capacityWh: z.number().positive().optional(),
      socMinPct: z.number().min(0).max(100).optional(),
      socMaxPct: z.number().min(0).max(100).optional(),
    })
    .superRefine((limits, ctx) => checkSocRange(limits.socMinPct, limits.socMaxPct, ctx))
    .optional(),
  /** For profile devices: unit IDs of named units behind the gateway (e.g. a Victron GX's vebus). */
  modbusUnits: z.record(z.string(), z.number().int().min(0).max(255)).optional(),
  /** For profile devices: the profile variant (firmware) to use. */
  variant: z.string().optional(),
  pollIntervalMs: z.number().int().min(100).max(3_600_000).default(1000),
})

/** An empty SoC range leaves the battery nothing to use; named at socMinPct with both values. */
function checkSocRange(minPct: number | undefined, maxPct: number | undefined, ctx: z.RefinementCtx): void {
  if (minPct !== undefined && maxPct !== undefined && !(minPct < maxPct)) {
    ctx.addIssue({ code: 'custom', path: ['socMinPct'], message: `expected below socMaxPct (${maxPct}), got ${minPct}` })
  }
}

/** Whether this runtime's Intl knows the zone (IANA names such as Europe/Berlin, and UTC). */
function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone })
    return true
  } catch {
    return false
  }
}

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a local date YYYY-MM-DD')

/** How the site is run (`gridmesh serve`): where it is, its PV, grid and battery limits, its tariff. Every field has a default. */
export const siteControlSchema = z.strictObject({
  location: z.strictObject({ latitudeDeg: z.number().min(-90).max(90), longitudeDeg: z.number().min(-180).max(180) }).optional(),
  /** The PV array for the clear-sky forecast (peak power in kWp DC). */
  pv: z.strictObject({ tiltDeg: z.number().min(0).max(90).default(20), azimuthDeg: z.number().min(-180).max(360).default(0), peakPowerKw: z.number().positive() }).optional(),
  grid: z.strictObject({ maxImportW: z.number().positive().nullable().default(null), maxExportW: z.number().min(0).nullable().default(null) }).default({ maxImportW: null, maxExportW: null }),
  battery: z
    .strictObject({
      socMinPct: z.number().min(0).max(100).default(10),
      socMaxPct: z.number().min(0).max(100).default(95),
      targetEndSocPct: z.number().min(0).max(100).default(30),
      degradationCostEurPerKWh: z.number().min(0).default(0.01),
    })
    .superRefine((b, ctx) => checkSocRange(b.socMinPct, b.socMaxPct, ctx))
    .default({ socMinPct: 10, socMaxPct: 95, targetEndSocPct: 30, degradationCostEurPerKWh: 0.01 }),
  tariff: z
    .strictObject({
      importBands: z.array(z.strictObject({ fromHour: z.number().int().min(0).max(23), toHour: z.number().int().min(1).max(24), priceEurPerKWh: z.number() })),
      defaultImportEurPerKWh: z.number(),
      exportEurPerKWh: z.number(),
    })
    .optional(),
  /** Public holidays in the site's time zone: the load forecast treats them like the holidays it learned from. */
  holidays: z.array(isoDate).default([]),
  /** A load model directory (tfjs format with metadata.json); default: the model shipped in models/default. */
  loadModel: z.string().optional(),
  cycleMs: z.number().int().min(100).max(60_000).default(1000),
})

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
    /** Settlement-token base units per contract amount unit (1 for a 6-decimal stable token). */
    unit: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).default(1),
  })
  .refine((m) => 3 + Math.ceil((m.settleWindowSec + m.disputeWindowSec) / m.intervalSec) <= 1024, {
    message: 'settleWindowSec + disputeWindowSec span more than 1021 intervals; expected a longer intervalSec or shorter windows (the contract keeps at most 1024 interval records)',
  })

/** The controller's site file: where each device is and how to talk to it, and optionally how the site is run. */
export const siteFileSchema = z
  .strictObject({
    name: z.string().min(1).max(64),
    timezone: z
      .string()
      .superRefine((zone, ctx) => {
        if (!isTimeZone(zone)) ctx.addIssue({ code: 'custom', message: `expected an IANA time zone such as Europe/Berlin, got ${JSON.stringify(zone)}` })
      })
      .optional(),
    devices: z.array(siteDeviceSchema).min(1),
    control: siteControlSchema.optional(),
    market: siteMarketSchema.optional(),
  })
  .superRefine((site, ctx) => {
    const seen = new Map<string, number>()
    site.devices.forEach((d, i) => {
      if (seen.has(d.name)) ctx.addIssue({ code: 'custom', path: ['devices', i, 'name'], message: `duplicate device name '${d.name}' (also devices[${seen.get(d.name)}])` })
      seen.set(d.name, i)
    })
  })

export type SiteFile = z.infer<typeof siteFileSchema>
export type SiteDevice = z.infer<typeof siteDeviceSchema>
export type SiteControl = z.infer<typeof siteControlSchema>
export type SiteMarket = z.infer<typeof siteMarketSchema>
