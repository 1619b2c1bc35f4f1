import { z } from 'zod'

const host = z.string().min(1).default('127.0.0.1')
const port = z.number().int().min(0).max(65535)
const unitId = z.number().int().min(1).max(247)

const tcpTransport = z.strictObject({ type: z.literal('tcp'), host, port, unitId: unitId.default(1) })
const rtuTransport = z.strictObject({
  type: z.literal('rtu'),
  path: z.string().min(1),
  baudRate: z.number().int().positive().default(9600),
  parity: z.enum(['none', 'even', 'odd']).default('none'),
  stopBits: z.union([z.literal(1), z.literal(2)]).default(1),
  unitId: unitId,
})

const deviceBase = {
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,31}$/, 'a name of letters, digits, _ or -, starting with a letter'),
  transport: z.discriminatedUnion('type', [tcpTransport, rtuTransport]),
  sunspecBase: z.union([z.literal(0), z.literal(40000), z.literal(50000)]).default(40000),
  manufacturer: z.string().max(32).default('GridMesh'),
  serialNumber: z.string().max(32).optional(),
  /** Serve the device with this profile's registers (core/devices/profiles/<id>.json) instead of SunSpec. */
  profile: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'a profile id such as eastron-sdm630').optional(),
}

const inverter = z.strictObject({
  ...deviceBase,
  kind: z.literal('inverter'),
  ratedW: z.number().positive().max(1_000_000),
  /** DC array size relative to the AC rating (DC/AC ratio). */
  dcAcRatio: z.number().min(0.5).max(2).default(1.1),
  tiltDeg: z.number().min(0).max(90).default(20),
  /** Degrees clockwise from north: 0 north, 90 east, 180 south, 270 west. */
  azimuthDeg: z.number().min(0).lt(360).default(180),
  commandTimeoutS: z.number().positive().max(86_400).default(60),
})

const battery = z
  .strictObject({
    ...deviceBase,
    kind: z.literal('battery'),
    capacityWh: z.number().positive().max(10_000_000),
    maxChargeW: z.number().positive().max(1_000_000),
    maxDischargeW: z.number().positive().max(1_000_000),
    chargeEfficiency: z.number().gt(0).max(1).default(0.95),
    dischargeEfficiency: z.number().gt(0).max(1).default(0.95),
    socMinPct: z.number().min(0).max(100).default(5),
    socMaxPct: z.number().min(0).max(100).default(100),
    initialSocPct: z.number().min(0).max(100).default(50),
    commandTimeoutS: z.number().positive().max(86_400).default(60),
    /** What the battery does when no setpoint is in force: cover the site's net load, or rest. */
    fallback: z.enum(['self-consumption', 'idle']).default('self-consumption'),
  })
  .superRefine((b, ctx) => {
    if (b.socMinPct >= b.socMaxPct) {
      ctx.addIssue({ code: 'custom', path: ['socMinPct'], message: `expected socMinPct < socMaxPct (${b.socMaxPct}), got ${b.socMinPct}` })
    }
    if (b.initialSocPct < b.socMinPct || b.initialSocPct > b.socMaxPct) {
      ctx.addIssue({ code: 'custom', path: ['initialSocPct'], message: `expected a value within socMinPct..socMaxPct (${b.socMinPct}..${b.socMaxPct}), got ${b.initialSocPct}` })
    }
  })

const meter = z.strictObject({ ...deviceBase, kind: z.literal('meter') })

export const deviceSchema = z.discriminatedUnion('kind', [inverter, battery, meter])

export const siteSchema = z
  .strictObject({
    name: z.string().min(1).max(64),
    location: z.strictObject({
      latitudeDeg: z.number().min(-90).max(90),
      longitudeDeg: z.number().min(-180).max(180),
      timezone: z.string().refine(isTimeZone, 'an IANA time zone such as Europe/Berlin'),
    }),
    clock: z
      .strictObject({
        /** Where the simulated clock starts (ISO 8601); omitted: now. */
        start: z.iso.datetime({ offset: true }).optional(),
        speed: z.number().min(0).max(1_000_000).default(1),
      })
      .default({ speed: 1 }),
    load: z.strictObject({ peakW: z.number().positive().max(10_000_000) }),
    api: z.strictObject({ host, port }).default({ host: '127.0.0.1', port: 8600 }),
    devices: z.array(deviceSchema).min(1),
  })
  .superRefine((site, ctx) => {
    const names = new Set<string>()
    const endpoints = new Map<string, number>()
    site.devices.forEach((device, i) => {
      if (names.has(device.name)) ctx.addIssue({ code: 'custom', path: ['devices', i, 'name'], message: `duplicate device name '${device.name}'` })
      names.add(device.name)
      const t = device.transport
      const key = t.type === 'tcp' ? `tcp ${t.host}:${t.port} unit ${t.unitId}` : `rtu ${t.path} unit ${t.unitId}`
      if (endpoints.has(key) && !(t.type === 'tcp' && t.port === 0)) {
        ctx.addIssue({ code: 'custom', path: ['devices', i, 'transport', 'unitId'], message: `${key} is already used by devices[${endpoints.get(key)}]` })
      }
      endpoints.set(key, i)
    })
    for (const kind of ['meter'] as const) {
      if (site.devices.filter((d) => d.kind === kind).length > 1) {
        ctx.addIssue({ code: 'custom', path: ['devices'], message: `expected at most one ${kind} (the grid connection point)` })
      }
    }
  })

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone })
    return true
  } catch {
    return false
  }
}

export type SiteConfig = z.infer<typeof siteSchema>
export type DeviceConfig = z.infer<typeof deviceSchema>
export type InverterConfig = Extract<DeviceConfig, { kind: 'inverter' }>
export type BatteryConfig = Extract<DeviceConfig, { kind: 'battery' }>
export type MeterConfig = Extract<DeviceConfig, { kind: 'meter' }>
