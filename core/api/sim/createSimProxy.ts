import { BaseError } from '../../errors/BaseError.ts'
import { describeZodIssue } from '../../errors/describeZodIssue.ts'
import { ApiRequestError } from '../ApiRequestError.ts'
import type { SimFaults } from '../contract.ts'
import { simStateSchema, type SimState } from './simSchemas.ts'

/** The simulator's control API did not answer, or answered something that is not its API. */
export class SimProxyError extends BaseError {
  override name = 'SimProxyError' as const
}

export type SimProxyOptions = {
  /** The simulator's control API, e.g. http://127.0.0.1:8600 (printed by `gridmesh sim`, known to the demo). */
  apiUrl: string
  timeoutMs?: number
}

const maxAnswerBytes = 1 << 20

/**
 * The tester's view of the simulator, through its own control API: state (devices,
 * clock, weather), fault injection and clock speed. Every command is validated by the
 * contract before it is forwarded; the simulator's own refusal comes back as a 400 with
 * its words, and a simulator that does not answer is a 502 naming its address.
 */
export function createSimProxy(options: SimProxyOptions) {
  let base: URL
  try {
    base = new URL(options.apiUrl)
  } catch {
    throw new SimProxyError(`--sim-api: expected an http:// URL of the simulator's control API such as http://127.0.0.1:8600, got '${options.apiUrl.slice(0, 100)}'`)
  }
  if (base.protocol !== 'http:') throw new SimProxyError(`--sim-api: expected an http:// URL of the simulator's control API, got a ${base.protocol} URL`)
  // The control API takes no credentials: drop any the URL carries, so none is sent or echoed.
  base.username = ''
  base.password = ''
  const shown = `${base.protocol}//${base.host}`
  const timeoutMs = options.timeoutMs ?? 5000

  async function call(method: string, path: string, body?: unknown): Promise<unknown> {
    let res: Response
    try {
      res = await fetch(new URL(path, base), {
        method,
        // fetch sends Host: <host:port of the URL>, the one the control API accepts
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
      })
    } catch (cause) {
      const why = (cause as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : ((cause as { cause?: { code?: string } }).cause?.code ?? (cause as Error).message)
      throw new ApiRequestError(502, `simulator at ${shown}: ${method} ${path}: ${why}`)
    }
    const text = await res.text()
    if (Buffer.byteLength(text) > maxAnswerBytes) throw new ApiRequestError(502, `simulator at ${shown}: ${method} ${path}: answer larger than ${maxAnswerBytes} bytes`)
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      throw new ApiRequestError(502, `simulator at ${shown}: ${method} ${path}: answered ${res.status} with something that is not JSON`)
    }
    if (!res.ok) {
      const said = typeof (json as { error?: unknown }).error === 'string' ? (json as { error: string }).error : text.slice(0, 300)
      // the simulator refused what it was sent: the client's fault (400, 404); anything else is the simulator's
      throw new ApiRequestError(res.status === 404 || res.status === 400 ? res.status : 502, `simulator: ${said}`)
    }
    return json
  }

  return {
    apiUrl: shown,
    async state(): Promise<SimState> {
      const json = await call('GET', '/api/state')
      const parsed = simStateSchema.safeParse(json)
      if (!parsed.success) throw new ApiRequestError(502, `simulator at ${shown}: /api/state is not the simulator's state: ${parsed.error.issues.map((i) => describeZodIssue(i, json)).join('; ')}`)
      return parsed.data
    },
    setFaults: (device: string, faults: SimFaults) => call('PUT', `/api/devices/${encodeURIComponent(device)}/faults`, faults),
    clearFaults: (device: string) => call('DELETE', `/api/devices/${encodeURIComponent(device)}/faults`),
    setClock: (speed: number) => call('PUT', '/api/clock', { speed }),
  }
}

export type SimProxy = ReturnType<typeof createSimProxy>
