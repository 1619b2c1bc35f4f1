import { statSync } from 'node:fs'
import { readBoundedTextFile } from '../../devices/site/readBoundedTextFile.ts'
import { parseOpenMeteoForecast, type WeatherForecast } from './parseOpenMeteoForecast.ts'
import type { WeatherSourceConfig } from './weatherSourceSchema.ts'
import { WeatherSourceError, type WeatherProblem } from './WeatherSourceError.ts'

/** A forecast for the plan's hours, or why there is none (the PV forecast then falls back). */
export type WeatherOutcome = { ok: true; forecast: WeatherForecast } | { ok: false; problem: WeatherProblem; reason: string }

export type WeatherRequest = { nowMs: number; fromMs: number; toMs: number; site: { latitudeDeg: number; longitudeDeg: number } }

/** Where a PV forecast's weather comes from. Pluggable: anything that answers `forecast` never throws. */
export type WeatherSource = {
  /** The URL or file, for reasons. */
  describe: string
  forecast(request: WeatherRequest): Promise<WeatherOutcome>
}

export type CreateWeatherSourceOptions = {
  /** Default: the global fetch (tests hand in their own). */
  fetch?: typeof fetch
  log?: (message: string) => void
}

const maxBytes = 4 * 1024 * 1024

/**
 * An Open-Meteo hourly forecast from a URL (fetched with a timeout at most every
 * `refreshMin` of the site's clock; a failed refetch keeps the last response until it is
 * stale) or from a file (its modification time is the issue time). Each answer is checked
 * against the request: the site's place, the age, the plan's hours.
 */
export function createWeatherSource(config: WeatherSourceConfig, options: CreateWeatherSourceOptions = {}): WeatherSource {
  const describe = config.url ?? config.file!
  const doFetch = options.fetch ?? fetch
  let cached: { json: unknown; issuedAtMs: number } | null = null

  async function fetchJson(nowMs: number): Promise<{ json: unknown; issuedAtMs: number }> {
    const url = config.url!
    let response: Response
    let text: string
    try {
      response = await doFetch(url, { signal: AbortSignal.timeout(config.timeoutMs), headers: { accept: 'application/json' } })
      text = await response.text()
    } catch (error) {
      const e = error as Error
      const why = e.name === 'TimeoutError' ? `no answer within ${config.timeoutMs} ms` : `${e.message}${e.cause instanceof Error ? ` (${e.cause.message})` : ''}`
      throw new WeatherSourceError('missing', `weather ${url}: cannot fetch: ${why}`)
    }
    if (!response.ok) throw new WeatherSourceError('missing', `weather ${url}: HTTP ${response.status}: ${text.slice(0, 200)}`)
    if (text.length > maxBytes) throw new WeatherSourceError('malformed', `weather ${url}: the response is larger than ${maxBytes} bytes`)
    return { json: parseJson(text, url), issuedAtMs: nowMs }
  }

  function readFile(): { json: unknown; issuedAtMs: number } {
    const file = config.file!
    let text: string | undefined
    let mtimeMs: number
    try {
      mtimeMs = statSync(file).mtimeMs
      text = readBoundedTextFile(file, maxBytes)
    } catch (error) {
      throw new WeatherSourceError('missing', `weather ${file}: cannot read: ${(error as Error).message}`)
    }
    if (text === undefined) throw new WeatherSourceError('malformed', `weather ${file}: larger than ${maxBytes} bytes`)
    return { json: parseJson(text, file), issuedAtMs: mtimeMs }
  }

  async function obtain(nowMs: number): Promise<{ json: unknown; issuedAtMs: number }> {
    if (config.file !== undefined) return readFile()
    const due = !cached || nowMs - cached.issuedAtMs >= config.refreshMin * 60_000 || nowMs < cached.issuedAtMs
    if (!due) return cached!
    try {
      cached = await fetchJson(nowMs)
    } catch (error) {
      // The last good response serves until it is stale; the parse below says so then.
      if (!cached || nowMs < cached.issuedAtMs) throw error
      options.log?.(`${(error as Error).message}; keeping the forecast fetched at ${new Date(cached.issuedAtMs).toISOString()}`)
    }
    return cached
  }

  return {
    describe,
    async forecast(request) {
      try {
        const { json, issuedAtMs } = await obtain(request.nowMs)
        const forecast = parseOpenMeteoForecast(json, { source: describe, issuedAtMs, site: request.site, nowMs: request.nowMs, fromMs: request.fromMs, toMs: request.toMs, maxAgeMs: config.maxAgeH * 3_600_000, toleranceKm: config.toleranceKm })
        return { ok: true, forecast }
      } catch (error) {
        if (error instanceof WeatherSourceError) return { ok: false, problem: error.problem, reason: error.shortMessage }
        return { ok: false, problem: 'missing', reason: `weather ${describe}: ${(error as Error).message}` }
      }
    },
  }
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new WeatherSourceError('malformed', `weather ${where}: not JSON (${(error as Error).message})`)
  }
}
