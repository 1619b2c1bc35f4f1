import type { IncomingMessage, ServerResponse } from 'node:http'
import type { z } from 'zod'
import type { SiteController } from '../../control/createSiteController.ts'
import { describeZodIssue, formatIssuePath } from '../../errors/describeZodIssue.ts'
import type { LiveMarketEvent } from '../../market/live/liveMarketView.ts'
import type { Store } from '../../store/createStore.ts'
import { ApiRequestError } from '../ApiRequestError.ts'
import { alarmEventsQuerySchema, trendCsvQuerySchema, trendQuerySchema, type AlarmEventsResult, type DevicesResult, type MarketResult, type PointsResult, type SimResult, type SimUnavailable } from '../contract.ts'
import type { createCommissionJobs } from '../installer/createCommissionJobs.ts'
import type { SimProxy } from '../sim/createSimProxy.ts'
import { answerTrend } from '../trend/answerTrend.ts'
import { writeTrendCsv } from '../trend/writeTrendCsv.ts'

/** What the HMI's part-B queries read: the store, the device list, the simulator, the market and the commissioning runs. */
export type SiteDataServices = {
  store: Pick<Store, 'queryTelemetry' | 'exportCsv' | 'listSeries' | 'alarmEvents'>
  /** The site's clock: which tiers still hold a range depends on it. */
  now: () => number
  siteName: string
  devices: { inspect(): Promise<DevicesResult> }
  /** Null when the site does not run on the simulator. */
  sim: SimProxy | null
  market: () => MarketResult | Promise<MarketResult>
  /** A live market node's events (the WebSocket's `market` events); null or absent when this process does not trade. */
  marketEvents?: ((listener: (event: LiveMarketEvent) => void) => () => void) | null
  commissions: ReturnType<typeof createCommissionJobs>
}

/** The commands of part B need the controller (alarm events go out on the stream) as well. */
export type SiteCommandServices = SiteDataServices & { alarms: Pick<SiteController, 'shelveAlarm' | 'unshelveAlarm'> }

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

function parseQuery<T extends z.ZodType>(schema: T, url: URL): z.infer<T> {
  const query = Object.fromEntries(url.searchParams)
  const parsed = schema.safeParse(query)
  if (!parsed.success) throw new ApiRequestError(400, `query: ${parsed.error.issues.map((i) => describeZodIssue(i, query)).join('; ')}`, formatIssuePath(parsed.error.issues[0]!.path) || undefined)
  return parsed.data
}

const fileName = (text: string) => text.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 120)
const commissionPath = /^\/api\/commission\/([A-Za-z0-9-]{1,64})(\/report\.(json|html))?$/

/**
 * GET /api/points, /api/trend, /api/trend.csv, /api/alarms/events, /api/devices,
 * /api/market, /api/sim, /api/commission and /api/commission/:id[/report.json|.html],
 * for any signed-in role (run after the request is authorized). Answers and returns true
 * when the request was one of these; a bad query is a 400 naming the field.
 */
export async function handleSiteDataRoutes(req: IncomingMessage, res: ServerResponse, url: URL, services: SiteDataServices): Promise<boolean> {
  const path = url.pathname
  const commission = commissionPath.exec(path)
  const known = ['/api/points', '/api/trend', '/api/trend.csv', '/api/alarms/events', '/api/devices', '/api/market', '/api/sim', '/api/commission'].includes(path) || commission !== null
  if (!known) return false
  if (req.method !== 'GET') throw new ApiRequestError(405, `${req.method} is not allowed on ${path}; use GET`)
  // only the parameters a query defines: the strict schemas name anything else
  switch (path) {
    case '/api/points': {
      const answer: PointsResult = { points: services.store.listSeries() }
      send(res, 200, answer)
      return true
    }
    case '/api/trend':
      send(res, 200, answerTrend(services.store, parseQuery(trendQuerySchema, url), services.now()))
      return true
    case '/api/trend.csv': {
      const q = parseQuery(trendCsvQuerySchema, url)
      const name = fileName(`${services.siteName}-${q.device ?? 'all'}${q.point ? `-${q.point}` : ''}-${new Date(q.fromMs).toISOString()}-${new Date(q.toMs).toISOString()}.csv`)
      res.writeHead(200, { 'content-type': 'text/csv; charset=utf-8', 'cache-control': 'no-store', 'content-disposition': `attachment; filename="${name}"` })
      try {
        await writeTrendCsv(services.store, q, services.now(), res)
      } catch (error) {
        // the header is out: the only honest signal left is a connection cut short
        res.destroy(error as Error)
        return true
      }
      res.end()
      return true
    }
    case '/api/alarms/events': {
      const q = parseQuery(alarmEventsQuerySchema, url)
      const answer: AlarmEventsResult = { events: services.store.alarmEvents(q.sinceMs ?? 0, q.alarmId) }
      send(res, 200, answer)
      return true
    }
    case '/api/devices':
      send(res, 200, await services.devices.inspect())
      return true
    case '/api/market':
      send(res, 200, await services.market())
      return true
    case '/api/sim': {
      if (!services.sim) {
        const answer: SimUnavailable = { available: false, reason: 'this site does not run on the simulator (serve --sim-api URL, or gridmesh demo)' }
        send(res, 404, answer)
        return true
      }
      const answer: SimResult = { available: true, apiUrl: services.sim.apiUrl, state: await services.sim.state() }
      send(res, 200, answer)
      return true
    }
    case '/api/commission':
      send(res, 200, { runs: services.commissions.list() })
      return true
  }
  const [, id, , format] = commission!
  if (format === 'html') {
    const html = services.commissions.html(id!)
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-disposition': `attachment; filename="commissioning-report-${id}.html"`, 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'" })
    res.end(html)
    return true
  }
  const job = services.commissions.get(id!)
  if (format === 'json') {
    if (!job.report) throw new ApiRequestError(409, `commissioning run ${id} is ${job.status}; the report exists once it is done`)
    const text = `${JSON.stringify(job.report, null, 2)}\n`
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-disposition': `attachment; filename="commissioning-report-${id}.json"` })
    res.end(text)
    return true
  }
  send(res, 200, job)
  return true
}
