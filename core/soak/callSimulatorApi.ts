import { SoakError } from './SoakError.ts'

/** One call to the simulator's control API (fault injection, state); a refusal is a SoakError naming the route and the simulator's reason. */
export async function callSimulatorApi<T>(apiUrl: string, method: 'GET' | 'PUT' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const res = await fetch(apiUrl + path, { method, ...(body !== undefined && { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) })
  const text = await res.text()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new SoakError(`simulator API ${method} ${path}: answered ${res.status} with something that is not JSON: ${text.slice(0, 200)}`)
  }
  if (!res.ok) throw new SoakError(`simulator API ${method} ${path}: ${res.status} ${(json as { error?: string }).error ?? text.slice(0, 200)}`)
  return json as T
}
