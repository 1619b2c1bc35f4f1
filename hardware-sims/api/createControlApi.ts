import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { z } from 'zod'
import { faultsPatchSchema, noFaults } from '../faults.ts'
import { forecastWeather } from '../physics/forecastWeather.ts'
import { describeSimulator, type Simulator } from '../startSimulator.ts'

export type ControlApi = { readonly url: string; close(): Promise<void> }

const clockPatchSchema = z.strictObject({ speed: z.number().min(0).max(1_000_000) })
const advanceSchema = z.strictObject({ seconds: z.number().positive().max(31 * 86_400) })

const routes = [
  'GET    /api/health',
  'GET    /api/state',
  'GET    /api/devices',
  'GET    /api/devices/:name',
  'PUT    /api/devices/:name/faults   {refuseConnections?, delayMs?, noResponse?, exceptionCode?, frozen?, sentinelPoints?, tripped?}',
  'DELETE /api/devices/:name/faults',
  'POST   /api/devices/:name/disconnect',
  'PUT    /api/clock                   {speed}   (0 pauses)',
  'POST   /api/clock/advance           {seconds}',
  'GET    /api/events',
  'GET    /api/weather/forecast?past_days=&forecast_days=&timezone=auto   (Open-Meteo hourly JSON: shortwave_radiation, cloud_cover)',
]

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message)
  }
}

const maxBodyBytes = 64 * 1024

/** The request target as a URL; only origin-form paths (`/api/state`), anything else is a 400. */
function requestUrl(req: IncomingMessage): URL {
  const target = req.url ?? ''
  const shown = JSON.stringify(target.length > 120 ? `${target.slice(0, 120)}…` : target)
  if (!target.startsWith('/') || target.startsWith('//')) throw new HttpError(400, `request target ${shown}: expected a path such as /api/state`)
  try {
    return new URL(target, 'http://localhost')
  } catch {
    throw new HttpError(400, `request target ${shown}: not a valid path`)
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let size = 0
  const chunks: Buffer[] = []
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > maxBodyBytes) throw new HttpError(413, `request body: larger than ${maxBodyBytes} bytes`)
    chunks.push(chunk as Buffer)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  if (!text.trim()) throw new HttpError(400, 'request body: expected a JSON object, got an empty body')
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new HttpError(400, `request body: invalid JSON (${(error as Error).message})`)
  }
}

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body)
  if (result.success) return result.data
  const problems = result.error.issues.map((issue) => {
    const path = issue.path.map(String).join('.') || '(body)'
    return issue.code === 'unrecognized_keys' ? `${path}: unknown field(s) ${issue.keys.join(', ')}` : `${path}: ${issue.message}`
  })
  throw new HttpError(400, `request body: ${problems.join('; ')}`)
}

/** The simulator's local HTTP JSON API: state read-out, fault injection, clock control. */
export function createControlApi(sim: Simulator, { host, port, log }: { host: string; port: number; log: (m: string) => void }): Promise<ControlApi> {
  const device = (encoded: string) => {
    let name: string
    try {
      name = decodeURIComponent(encoded)
    } catch {
      throw new HttpError(400, `device name '${encoded.slice(0, 64)}': not valid percent-encoding`)
    }
    const runtime = sim.devices.get(name)
    if (!runtime) throw new HttpError(404, `no device '${name}'; devices: ${[...sim.devices.keys()].join(', ')}`)
    return runtime
  }
  const describeDevice = (name: string) => describeSimulator(sim).devices.find((d) => d.name === name)

  let boundPort = port
  const handle = async (req: IncomingMessage): Promise<unknown> => {
    // A web page can reach 127.0.0.1 by DNS rebinding, sending its own host name: only our own names are served (core's API does the same).
    const hostHeader = req.headers.host ?? ''
    if (hostHeader !== `${host}:${boundPort}` && hostHeader !== `localhost:${boundPort}`) throw new HttpError(421, `Host '${hostHeader.slice(0, 200)}' is not this simulator (${host}:${boundPort})`)
    const url = requestUrl(req)
    const parts = url.pathname.split('/').filter(Boolean)
    const method = req.method ?? 'GET'
    if (parts[0] !== 'api') throw new HttpError(404, `no route ${method} ${url.pathname}; routes:\n${routes.join('\n')}`)
    const [, a, b, c] = parts
    if (method === 'GET' && a === 'health' && !b) return { ok: true }
    if (method === 'GET' && a === 'state' && !b) return describeSimulator(sim)
    if (method === 'GET' && a === 'events' && !b) return { events: sim.recentEvents() }
    if (method === 'GET' && a === 'devices' && !b) return { devices: sim.ready }
    if (a === 'devices' && b) {
      const runtime = device(b)
      if (method === 'GET' && !c) return { ...describeDevice(runtime.device.name), ready: sim.ready.find((r) => r.device === runtime.device.name) }
      if (c === 'faults' && method === 'PUT' && !parts[4]) {
        const patch = parseBody(faultsPatchSchema, await readJson(req))
        for (const ref of patch.sentinelPoints ?? []) {
          const [model, ...path] = ref.split('.')
          try {
            runtime.device.image.addressOf(Number(model), path.join('.'))
          } catch {
            throw new HttpError(400, `request body: sentinelPoints: device '${runtime.device.name}' has no point ${ref}`)
          }
        }
        if (patch.tripped && runtime.device.kind === 'meter') {
          throw new HttpError(400, `request body: tripped: a meter cannot trip (use noResponse to make it silent)`)
        }
        runtime.faults = { ...runtime.faults, ...patch }
        log(`${runtime.device.name}: faults set: ${JSON.stringify(patch)}`)
        sim.tick()
        return { device: runtime.device.name, faults: runtime.faults }
      }
      if (c === 'faults' && method === 'DELETE' && !parts[4]) {
        runtime.faults = noFaults()
        log(`${runtime.device.name}: faults cleared`)
        sim.tick()
        return { device: runtime.device.name, faults: runtime.faults }
      }
      if (c === 'disconnect' && method === 'POST' && !parts[4]) {
        const dropped = runtime.endpoint.tcp?.dropConnections() ?? 0
        log(`${runtime.device.name}: dropped ${dropped} connection(s)`)
        return { device: runtime.device.name, dropped }
      }
    }
    if (a === 'clock' && method === 'PUT' && !b) {
      const { speed } = parseBody(clockPatchSchema, await readJson(req))
      sim.tick()
      sim.clock.setSpeed(speed)
      log(`clock speed set to ${speed}`)
      return { speed, time: new Date(sim.physics.timeMs).toISOString() }
    }
    if (a === 'clock' && b === 'advance' && method === 'POST' && !c) {
      const { seconds } = parseBody(advanceSchema, await readJson(req))
      sim.advance(seconds * 1000)
      return { time: new Date(sim.physics.timeMs).toISOString(), timeMs: sim.physics.timeMs }
    }
    if (method === 'GET' && a === 'weather' && b === 'forecast' && !c) {
      sim.tick()
      const query = weatherQuery(url.searchParams, sim.site.location.timezone)
      const { latitudeDeg, longitudeDeg } = sim.site.location
      // One sky: whatever place is asked, the forecast is for the simulated site's (the reply says where).
      return forecastWeather({ seed: sim.seed, latitudeDeg, longitudeDeg, nowMs: sim.physics.timeMs, ...query })
    }
    throw new HttpError(404, `no route ${method} ${url.pathname}; routes:\n${routes.join('\n')}`)
  }

  /**
   * The one error boundary: whatever a request throws, synchronously or not, is answered
   * (unexpected errors as 500, logged) instead of reaching the process; if even the answer
   * fails, the connection is dropped.
   */
  const server = createServer((req, res: ServerResponse) => {
    Promise.resolve()
      .then(() => handle(req))
      .then(
        (body) => send(res, 200, body),
        (error: unknown) => {
          if (error instanceof HttpError) return send(res, error.status, { error: error.message })
          log(`control API: ${req.method} ${JSON.stringify((req.url ?? '').slice(0, 200))}: ${(error as Error).stack ?? String(error)}`)
          send(res, 500, { error: `internal error: ${(error as Error).message}` })
        },
      )
      .catch((error: unknown) => {
        log(`control API: cannot answer ${req.method} ${JSON.stringify((req.url ?? '').slice(0, 200))}: ${(error as Error).message}; dropping the connection`)
        res.destroy()
      })
  })
  // No WebSocket here: an upgrade is refused outright rather than left to the request handler on a kept-alive socket.
  server.on('upgrade', (_req: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => socket.destroy())
    const text = JSON.stringify({ error: `the control API has no WebSocket; routes:\n${routes.join('\n')}` })
    socket.end(`HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(text)}\r\n\r\n${text}`)
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      const address = server.address()
      const bound = typeof address === 'object' && address ? address.port : port
      boundPort = bound
      resolve({
        url: `http://${host}:${bound}`,
        close: () => new Promise((done) => {
          server.closeAllConnections()
          server.close(() => done())
        }),
      })
    })
  })
}

/** Open-Meteo's query parameters the simulated service honours; a bad value is a 400 naming it. */
function weatherQuery(params: URLSearchParams, siteZone: string): { pastDays: number; forecastDays: number; timeZone: string | null } {
  const days = (name: string, min: number, max: number, fallback: number) => {
    const text = params.get(name)
    if (text === null) return fallback
    const n = Number(text)
    if (!/^\d+$/.test(text) || n < min || n > max) throw new HttpError(400, `query ${name}=${JSON.stringify(text.slice(0, 40))}: expected a whole number of days from ${min} to ${max}`)
    return n
  }
  for (const name of ['latitude', 'longitude']) {
    const text = params.get(name)
    if (text !== null && !Number.isFinite(Number(text))) throw new HttpError(400, `query ${name}=${JSON.stringify(text.slice(0, 40))}: expected degrees`)
  }
  const hourly = params.get('hourly')
  if (hourly !== null) {
    const unknown = hourly.split(',').filter((v) => v !== 'shortwave_radiation' && v !== 'cloud_cover')
    if (unknown.length) throw new HttpError(400, `query hourly: the simulator forecasts shortwave_radiation and cloud_cover only, not ${unknown.join(', ')}`)
  }
  const zone = params.get('timezone')
  if (zone !== null && zone !== 'auto' && zone !== siteZone && zone !== 'GMT' && zone !== 'UTC') throw new HttpError(400, `query timezone=${JSON.stringify(zone.slice(0, 40))}: expected auto, GMT or the site's ${siteZone}`)
  return { pastDays: days('past_days', 0, 7, 0), forecastDays: days('forecast_days', 1, 16, 7), timeZone: zone === null || zone === 'GMT' || zone === 'UTC' ? null : siteZone }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}
