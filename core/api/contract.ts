// The one API contract of GridMesh: what the HMI (through Electron IPC or the headless
// HTTP/WebSocket server) may ask and command. The renderer imports this file with
// `import type` only; the server validates every request against these schemas.
import { z } from 'zod'
import type { OperatingMode } from '../control/createOperatingMode.ts'
import { gridLimitsSchema, tariffSettingsSchema, type SiteSettings } from '../control/siteSettingsSchema.ts'
import type { CycleReport } from '../control/createControlLoop.ts'
import type { ForecastView, SiteEvent } from '../control/createSiteController.ts'
import type { Plan } from '../schedule/planSchedule.ts'
import type { CommissioningReport } from '../devices/commission/commissionSite.ts'
import type { ScanResult } from '../devices/scan/scanDevices.ts'
import type { SiteFile } from '../devices/site/siteFileSchema.ts'
import type { Alarm, AlarmEvent, TelemetryTier } from '../store/createStore.ts'
import type { MarketLedger } from '../market/marketLedgerSchema.ts'
import type { LiveMarketEvent, LiveMarketStatus } from '../market/live/liveMarketView.ts'
import type { DeviceView } from './devices/createDeviceInspector.ts'
import type { SimState } from './sim/simSchemas.ts'
import type { TrendPoint } from './trend/downsampleM4.ts'

const timeMs = z.coerce.number().int().min(0).max(8.64e15)

/** GET /api/alarms: an ISA-18.2 state, or `active` (unacknowledged or acknowledged) or `open` (not normal). */
export const alarmsQuerySchema = z.strictObject({
  state: z.enum(['unacknowledged', 'acknowledged', 'returned-unacknowledged', 'normal', 'shelved', 'active', 'open']).optional(),
  sinceMs: timeMs.optional(),
})

/**
 * GET /api/trend: one point of one device (or device `site`: loadW, pvW, gridW; the
 * pairs are in GET /api/points). The server picks the tier by range (raw up to 6 h, 1 min
 * up to 7 days, else 15 min; `tier` overrides) and thins it M4-style to at most
 * `maxPoints` (default 4000: first, last, min and max of each of maxPoints / 4 columns).
 */
export const trendQuerySchema = z
  .strictObject({
    device: z.string().min(1).max(64),
    point: z.string().min(1).max(64),
    fromMs: timeMs,
    toMs: timeMs,
    tier: z.enum(['raw', '1m', '15m']).optional(),
    maxPoints: z.coerce.number().int().min(4).max(16_000).optional(),
  })
  .refine((q) => q.fromMs < q.toMs, { message: 'fromMs must be before toMs', path: ['toMs'] })

/** GET /api/trend.csv: the same range as a CSV download, every row of the tier (not thinned); without device and point, every stored point of the site. */
export const trendCsvQuerySchema = z
  .strictObject({
    device: z.string().min(1).max(64).optional(),
    point: z.string().min(1).max(64).optional(),
    fromMs: timeMs,
    toMs: timeMs,
    tier: z.enum(['raw', '1m', '15m']).optional(),
    maxPoints: z.coerce.number().int().min(4).max(16_000).optional(),
  })
  .refine((q) => q.fromMs < q.toMs, { message: 'fromMs must be before toMs', path: ['toMs'] })
  .refine((q) => q.point === undefined || q.device !== undefined, { message: 'a point needs its device', path: ['device'] })

/** Who may do what; each role may also do everything the roles before it may. */
export const roles = ['viewer', 'operator', 'installer'] as const
export const roleSchema = z.enum(roles)
export type Role = z.infer<typeof roleSchema>
/**
 * Who is asking: a named account (session cookie), the local owner (the Bearer token in
 * <data>/api-token, or the one-time sign-in link: name 'local', role installer), or the
 * desktop user over IPC.
 */
export type Principal = { name: string; role: Role; via: 'token' | 'session' | 'ipc' }

/** A user name: what `gridmesh users add` accepts and POST /api/login looks up. */
export const userNameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, 'expected 1-64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit')

/** POST /api/login */
export const loginSchema = z.strictObject({ name: z.string().min(1).max(64), password: z.string().min(1).max(1024) })

// The operating mode and settings live with the controller that applies them; the API answers them as they are.
export { gridLimitsSchema, tariffSettingsSchema }
export type { GridLimits, SiteSettings, TariffSettings } from '../control/siteSettingsSchema.ts'
export type { OperatingMode } from '../control/createOperatingMode.ts'

export const operatingModes = ['auto', 'self-consumption', 'manual'] as const

/** setMode: auto (the plan), self-consumption, or manual: a battery setpoint (W, > 0 discharge) until it expires, then auto again. */
export const setModeCommandSchema = z
  .strictObject({
    type: z.literal('setMode'),
    mode: z.enum(operatingModes),
    setpointW: z.number().min(-10_000_000).max(10_000_000).optional(),
    expiresInMs: z.number().int().min(1000).max(7 * 86_400_000).optional(),
  })
  .superRefine((c, ctx) => {
    if (c.mode === 'manual') {
      if (c.setpointW === undefined) ctx.addIssue({ code: 'custom', message: 'manual mode needs a battery setpoint in W (> 0 discharge)', path: ['setpointW'] })
      if (c.expiresInMs === undefined) ctx.addIssue({ code: 'custom', message: 'manual mode needs expiresInMs (1 s to 7 days): it returns to auto then', path: ['expiresInMs'] })
    } else {
      for (const field of ['setpointW', 'expiresInMs'] as const) if (c[field] !== undefined) ctx.addIssue({ code: 'custom', message: `only manual mode takes ${field}`, path: [field] })
    }
  })

/** updateSettings: grid limits (each optional) and/or a whole tariff; applied live and kept across restarts. */
export const updateSettingsCommandSchema = z
  .strictObject({
    type: z.literal('updateSettings'),
    grid: gridLimitsSchema.partial().optional(),
    tariff: tariffSettingsSchema.optional(),
  })
  .refine((c) => c.grid !== undefined || c.tariff !== undefined, { message: 'nothing to update: send grid and/or tariff' })

// --- HMI part B (issue 12): alarms, simulator, installer ---------------------------------

/** shelveAlarm (operator): an open alarm out of annunciation for 1 min to 30 days, with the reason ISA-18.2 wants recorded. */
export const shelveAlarmCommandSchema = z.strictObject({
  type: z.literal('shelveAlarm'),
  id: z.number().int().positive(),
  durationMs: z.number().int().min(60_000).max(30 * 86_400_000),
  reason: z.string().trim().min(1).max(500),
})
/** unshelveAlarm (operator): back now; still active -> unacknowledged, else normal. */
export const unshelveAlarmCommandSchema = z.strictObject({ type: z.literal('unshelveAlarm'), id: z.number().int().positive() })

/** GET /api/alarms/events: the transitions of every alarm (or one), oldest first. */
export const alarmEventsQuerySchema = z.strictObject({ sinceMs: timeMs.optional(), alarmId: z.coerce.number().int().positive().optional() })

const simDeviceNameSchema = z.string().min(1).max(64).regex(/^[A-Za-z0-9_.-]+$/, 'a simulator device name (letters, digits, _ . -)')
/** The simulator's fault kinds (hardware-sims/faults.ts), any subset; the simulator checks them again. */
export const simFaultsSchema = z
  .strictObject({
    refuseConnections: z.boolean().optional(),
    delayMs: z.number().int().min(0).max(60_000).optional(),
    noResponse: z.boolean().optional(),
    exceptionCode: z.number().int().min(1).max(11).nullable().optional(),
    frozen: z.boolean().optional(),
    sentinelPoints: z.array(z.string().regex(/^\d+\.[A-Za-z0-9_.[\]]+$/, 'model.point, e.g. 103.W')).max(200).optional(),
    tripped: z.boolean().optional(),
    garbageFrames: z.number().min(0).max(1).optional(),
  })
  .refine((f) => Object.keys(f).length > 0, { message: 'no fault given; send at least one, or simClearFaults' })
/** simSetFaults / simClearFaults / simSetClock (installer): proxied to the simulator's control API. */
export const simSetFaultsCommandSchema = z.strictObject({ type: z.literal('simSetFaults'), device: simDeviceNameSchema, faults: simFaultsSchema })
export const simClearFaultsCommandSchema = z.strictObject({ type: z.literal('simClearFaults'), device: simDeviceNameSchema })
export const simSetClockCommandSchema = z.strictObject({ type: z.literal('simSetClock'), speed: z.number().min(0).max(1_000_000) })

const rangeOf = (min: number, max: number, maxSpan: number, what: string) =>
  z
    .tuple([z.number().int().min(min).max(max), z.number().int().min(min).max(max)])
    .refine(([a, b]) => a <= b, { message: `[from, to]: from must not be after to` })
    .refine(([a, b]) => b - a < maxSpan, { message: `at most ${maxSpan} ${what} per scan` })
/** scan (installer): one host, a bounded range of TCP ports and unit IDs (at most 2048 probes, about 60 s at most). */
export const scanCommandSchema = z
  .strictObject({
    type: z.literal('scan'),
    host: z.string().min(1).max(253).regex(/^[A-Za-z0-9.:-]+$/, 'a host name or IP address'),
    ports: rangeOf(1, 65535, 16, 'ports'),
    units: rangeOf(0, 255, 256, 'unit IDs'),
    timeoutMs: z.number().int().min(20).max(2000).optional(),
  })
  .refine((c) => (c.ports[1] - c.ports[0] + 1) * (c.units[1] - c.units[0] + 1) <= 2048, { message: 'ports x units: at most 2048 probes per scan', path: ['units'] })
  // The ports are probed side by side, the units of a port one after another, and a silent unit costs its timeout: bound the wait.
  .refine((c) => (c.units[1] - c.units[0] + 1) * (c.timeoutMs ?? 150) <= 60_000, { message: 'units x timeoutMs: a scan must end within 60 s (each silent unit costs its timeout); scan fewer units or a shorter timeoutMs', path: ['timeoutMs'] })
/** commission (installer): the site file as YAML (from scan, edited), checks and verified, reverted test writes unless readOnly. */
export const commissionCommandSchema = z.strictObject({
  type: z.literal('commission'),
  siteYaml: z.string().min(1).max(60_000),
  readOnly: z.boolean().optional(),
  observeMs: z.number().int().min(0).max(30_000).optional(),
})

export type ShelveAlarmCommand = z.infer<typeof shelveAlarmCommandSchema>
export type SimFaults = z.infer<typeof simFaultsSchema>
export type ScanCommand = z.infer<typeof scanCommandSchema>
export type CommissionCommand = z.infer<typeof commissionCommandSchema>
export type AlarmEventsResult = { events: AlarmEvent[] }
export type DevicesResult = { devices: DeviceView[] }
/** GET /api/sim: the simulator's state (devices, clock, weather as `clearness`) when the site runs on one. */
export type SimResult = { available: true; apiUrl: string; state: SimState }
export type SimUnavailable = { available: false; reason: string }
export type ScanCommandResult = { type: 'scan'; result: ScanResult; site: SiteFile; siteYaml: string }
/** GET /api/commission/:id; the report as HTML at /api/commission/:id/report.html, as JSON at report.json. */
export type CommissionJob = {
  id: string
  site: string
  readOnly: boolean
  status: 'running' | 'done' | 'failed'
  startedAtMs: number
  finishedAtMs: number | null
  warnings: string[]
  error: string | null
  report: CommissioningReport | null
}
/**
 * GET /api/market: the live node's ledger and state when this process trades or clears
 * (issue 15: `source: 'live'`, `live`), else a ledger file's (`file`: serve --market-ledger,
 * the demo), else why there is none.
 */
export type MarketResult =
  | { available: true; source: 'live'; ledger: MarketLedger; live: LiveMarketStatus; file?: undefined }
  | { available: true; source: MarketLedger['source']; file: string; ledger: MarketLedger; live?: undefined }
  | { available: false; reason: string }
export type { LiveMarketEvent, LiveMarketStatus }
export type PartBCommandResult =
  | { type: 'shelveAlarm'; alarm: Alarm }
  | { type: 'unshelveAlarm'; alarm: Alarm }
  | { type: 'simSetFaults' | 'simClearFaults' | 'simSetClock'; answer: unknown }
  | ScanCommandResult
  | { type: 'commission'; job: CommissionJob }

/** POST /api/commands: the body is one command. */
export const commandSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('acknowledgeAlarm'),
    id: z.number().int().positive(),
    /** Who acknowledges (shown in the alarm history); default: the session's role. */
    by: z.string().trim().min(1).max(64).optional(),
  }),
  setModeCommandSchema,
  updateSettingsCommandSchema,
  shelveAlarmCommandSchema,
  unshelveAlarmCommandSchema,
  simSetFaultsCommandSchema,
  simClearFaultsCommandSchema,
  simSetClockCommandSchema,
  scanCommandSchema,
  commissionCommandSchema,
])

/** GET /api/audit: newest first. */
export const auditQuerySchema = z.strictObject({
  sinceMs: timeMs.optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
})

export type AlarmsQuery = z.infer<typeof alarmsQuerySchema>
export type AuditQuery = z.infer<typeof auditQuerySchema>
export type Login = z.infer<typeof loginSchema>
export type SetModeCommand = z.infer<typeof setModeCommandSchema>
export type UpdateSettingsCommand = z.infer<typeof updateSettingsCommandSchema>
export type TrendQuery = z.infer<typeof trendQuerySchema>
export type Command = z.infer<typeof commandSchema>

export type SiteSummary = { name: string; timeZone: string; devices: string[] }

/** What each query answers. */
/** mode and settings are null only on a server without a site controller (a bare API in tests). */
export type StateResult = { site: SiteSummary; cycle: CycleReport | null; mode: OperatingMode | null; settings: SiteSettings | null }
export type PlanResult = { plan: Plan | null }
export type ForecastResult = ForecastView
export type AlarmsResult = { alarms: Alarm[] }
/** `rows` are in time order; a stored bucket keeps its min and max when it was not thinned. */
export type TrendResult = { device: string; point: string; fromMs: number; toMs: number; tier: TelemetryTier; bucketMs: number; sourceRows: number; rows: TrendPoint[] }
export type PointsResult = { points: { device: string; point: string }[] }
/** One command as it was recorded: who, when, what (the body as sent), and what came of it. */
export type AuditEntry = {
  id: number
  timeMs: number
  who: string
  role: Role
  via: Principal['via']
  /** The command's type, or null when the body was not a command. */
  command: string | null
  body: unknown
  outcome: 'ok' | 'refused'
  /** Why it was refused (validation, role, or what the site said); null when ok. */
  reason: string | null
}
export type SessionUser = { name: string; role: Role }
/** POST /api/login */
export type LoginResult = { user: SessionUser; expiresAtMs: number }
/** GET /api/session; expiresAtMs is null for the Bearer token (it lasts as long as the server). */
export type SessionResult = { user: SessionUser; via: Principal['via']; expiresAtMs: number | null }
export type AuditResult = { entries: AuditEntry[] }
export type SettingsResult = { settings: SiteSettings | null; mode: OperatingMode | null }
export type CommandResult = { type: 'acknowledgeAlarm'; alarm: Alarm } | { type: 'setMode'; mode: OperatingMode } | { type: 'updateSettings'; settings: SiteSettings } | PartBCommandResult

/** One message on the event stream (WebSocket /api/events): the controller's events as they happen, and a live market node's (`market`). */
export type ApiEvent = SiteEvent | LiveMarketEvent | { type: 'hello'; site: SiteSummary } | { type: 'audit'; entry: AuditEntry } | { type: 'mode'; mode: OperatingMode } | { type: 'settings'; settings: SiteSettings }

/** An error answer: what was wrong and where (`where` is the query field or body path). */
export type ApiErrorBody = { error: { name: string; message: string; /** The body path of the first bad field (e.g. `grid.maxImportW`), so a form can show the message beside it. */ field?: string } }
