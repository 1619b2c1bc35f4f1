// The API contract as IPC: which channels exist, and the schema every payload must pass
// before it leaves main. Queries and commands are validated with core/api/contract.ts's
// own schemas (the ones the HTTP server uses), so a message the server would refuse is
// refused here too, with the same wording.
import { z } from 'zod'
import { alarmEventsQuerySchema, alarmsQuerySchema, auditQuerySchema, commandSchema, trendCsvQuerySchema, trendQuerySchema } from '../core/api/contract.ts'

/** Renderer -> main, answered (ipcMain.handle). */
export const invokeChannels = {
  query: 'gridmesh:query',
  command: 'gridmesh:command',
  download: 'gridmesh:download',
  session: 'gridmesh:session',
  subscribe: 'gridmesh:subscribe',
  unsubscribe: 'gridmesh:unsubscribe',
  sites: 'gridmesh:sites',
  prompt: 'gridmesh:prompt',
} as const
/** Main -> renderer (webContents.send). */
export const pushChannels = { event: 'gridmesh:event', status: 'gridmesh:status' } as const

const noParams = z.strictObject({})
const paramValue = z.union([z.string().max(1000), z.number()])
/** Every query the HMI may ask, with its parameters' schema (none where the server takes none). */
export const queryParamSchemas: Record<string, z.ZodType> = {
  state: noParams,
  plan: noParams,
  forecast: noParams,
  alarms: alarmsQuerySchema,
  'alarms/events': alarmEventsQuerySchema,
  trend: trendQuerySchema,
  points: noParams,
  audit: auditQuerySchema,
  settings: noParams,
  devices: noParams,
  market: noParams,
  sim: noParams,
  commission: noParams,
}
const commissionRun = /^commission\/[A-Za-z0-9-]{1,64}$/
const commissionReport = /^commission\/[A-Za-z0-9-]{1,64}\/report\.(json|html)$/

export const queryRequestSchema = z.strictObject({
  path: z.string().max(200),
  params: z.record(z.string().max(64), paramValue).optional(),
})
export const downloadRequestSchema = z.strictObject({
  path: z.string().max(200),
  params: z.record(z.string().max(64), paramValue).optional(),
})
export const noPayloadSchema = z.undefined({ error: 'this channel takes no payload' })
/** The site manager's requests (first start): list recent sites, open a site file, start the demo, forget one. */
export const sitesRequestSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('list') }),
  z.strictObject({ action: z.literal('openFile') }),
  z.strictObject({ action: z.literal('openRecent'), id: z.string().regex(/^[a-z0-9-]{1,80}$/) }),
  z.strictObject({ action: z.literal('startDemo') }),
  z.strictObject({ action: z.literal('createFromYaml'), name: z.string().trim().min(1).max(64), siteYaml: z.string().min(1).max(60_000) }),
])

/**
 * The window's passphrase prompt (a key sealed without the OS keychain): wait for the next
 * prompt, or answer one. A passphrase that does not fit is refused without being quoted.
 */
export const promptRequestSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('next') }),
  z.strictObject({
    action: z.literal('answer'),
    id: z.number().int().positive(),
    passphrase: z.custom<string>((v) => typeof v === 'string' && v.length >= 1 && v.length <= 1024, 'expected a passphrase of 1 to 1024 characters (what was sent is not shown)').nullable(),
  }),
])

export { commandSchema }
export type QueryRequest = z.infer<typeof queryRequestSchema>
export type SitesRequest = z.infer<typeof sitesRequestSchema>

/** The schema a query's parameters must pass, or null when the path is not a query the API answers. */
export function schemaForQuery(path: string): z.ZodType | null {
  if (Object.hasOwn(queryParamSchemas, path)) return queryParamSchemas[path]!
  if (commissionRun.test(path)) return noParams
  return null
}

/** The schema a download's parameters must pass, or null when the path is not a download. */
export function schemaForDownload(path: string): z.ZodType | null {
  if (path === 'trend.csv') return trendCsvQuerySchema
  if (commissionReport.test(path)) return noParams
  return null
}
