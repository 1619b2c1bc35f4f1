// The one API contract of GridMesh: what the HMI (through Electron IPC or the headless
// HTTP/WebSocket server) may ask and command. The renderer imports this file with
// `import type` only; the server validates every request against these schemas.
import { z } from 'zod'
import type { CycleReport } from '../control/createControlLoop.ts'
import type { ForecastView, SiteEvent } from '../control/createSiteController.ts'
import type { Plan } from '../schedule/planSchedule.ts'
import type { Alarm, TelemetryRow } from '../store/createStore.ts'

const timeMs = z.coerce.number().int().min(0).max(8.64e15)

/** GET /api/alarms */
export const alarmsQuerySchema = z.strictObject({
  state: z.enum(['active', 'acknowledged', 'cleared']).optional(),
  sinceMs: timeMs.optional(),
})

/** GET /api/trend: one point of one device (or device `site`: loadW, pvW, gridW). */
export const trendQuerySchema = z
  .strictObject({
    device: z.string().min(1).max(64),
    point: z.string().min(1).max(64),
    fromMs: timeMs,
    toMs: timeMs,
    tier: z.enum(['raw', '1m', '15m']).optional(),
  })
  .refine((q) => q.fromMs < q.toMs, { message: 'fromMs must be before toMs', path: ['toMs'] })

/** POST /api/commands: the body is one command. */
export const commandSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('acknowledgeAlarm'),
    id: z.number().int().positive(),
    /** Who acknowledges (shown in the alarm history); default: the session's role. */
    by: z.string().trim().min(1).max(64).optional(),
  }),
])

export type AlarmsQuery = z.infer<typeof alarmsQuerySchema>
export type TrendQuery = z.infer<typeof trendQuerySchema>
export type Command = z.infer<typeof commandSchema>

export type SiteSummary = { name: string; timeZone: string; devices: string[] }

/** What each query answers. */
export type StateResult = { site: SiteSummary; cycle: CycleReport | null }
export type PlanResult = { plan: Plan | null }
export type ForecastResult = ForecastView
export type AlarmsResult = { alarms: Alarm[] }
export type TrendResult = { rows: TelemetryRow[] }
export type CommandResult = { type: 'acknowledgeAlarm'; alarm: Alarm }

/** One message on the event stream (WebSocket /api/events): the controller's events as they happen. */
export type ApiEvent = SiteEvent | { type: 'hello'; site: SiteSummary }

/** An error answer: what was wrong and where (`where` is the query field or body path). */
export type ApiErrorBody = { error: { name: string; message: string } }
