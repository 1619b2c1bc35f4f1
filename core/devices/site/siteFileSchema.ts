import { z } from 'zod'
import { checkSocRange } from '../../site/checkSocRange.ts'
import { siteControlSchema } from '../../site/siteControlSchema.ts'
import { siteMarketSchema } from '../../site/siteMarketSchema.ts'

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

/** Whether this runtime's Intl knows the zone (IANA names such as Europe/Berlin, and UTC). */
function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone })
    return true
  } catch {
    return false
  }
}

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
// The control and market sections are the site module's (core/site); re-exported for the site file's readers.
export { siteControlSchema, siteMarketSchema }
export type { SiteControl } from '../../site/siteControlSchema.ts'
export type { SiteMarket } from '../../site/siteMarketSchema.ts'
