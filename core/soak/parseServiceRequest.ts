import { z } from 'zod'
import { describeZodIssue } from '../errors/describeZodIssue.ts'
import { SoakError } from './SoakError.ts'

const ms = z.number().int().min(0)
const requestSchema = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('start'), site: z.unknown(), dataDir: z.string().min(1), nowMs: ms, staleAfterMs: z.number().int().positive(), refreshMs: z.number().int().positive() }),
  z.strictObject({ op: z.literal('tick'), nowMs: ms, failForecast: z.boolean(), failPlan: z.boolean(), waitMs: z.number().int().min(0).max(10_000), killAfterStoreCalls: z.number().int().min(0).nullable() }),
  z.strictObject({ op: z.literal('count'), timesMs: z.array(ms).max(100_000) }),
  z.strictObject({ op: z.literal('audit'), fromMs: ms, toMs: ms }),
  z.strictObject({ op: z.literal('stop') }),
])

export type ServiceRequest = z.infer<typeof requestSchema>

/** One line from the soak coordinator to the service process, checked. */
export function parseServiceRequest(line: string): ServiceRequest {
  let json: unknown
  try {
    json = JSON.parse(line)
  } catch (cause) {
    throw new SoakError(`service request: not JSON: ${(cause as Error).message}`, { cause })
  }
  const result = requestSchema.safeParse(json)
  if (!result.success) throw new SoakError(`service request: ${result.error.issues.map((i) => describeZodIssue(i, json)).join('; ')}`)
  return result.data
}
