import { z } from 'zod'
import { describeZodIssue } from '../errors/describeZodIssue.ts'
import { SoakError } from './SoakError.ts'

const nullableNumber = z.number().nullable()
const replySchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('started'), pid: z.number().int() }),
  z.strictObject({
    type: z.literal('tick'),
    timeMs: z.number(),
    devices: z.array(z.strictObject({ name: z.string(), stale: z.boolean(), error: z.string().nullable() })),
    decisions: z.array(z.strictObject({ name: z.string(), setpointW: nullableNumber, minW: z.number(), maxW: z.number(), mode: z.string() })),
    writes: z.array(z.strictObject({ device: z.string(), ok: z.boolean(), written: nullableNumber })),
    alarms: z.strictObject({ raised: z.array(z.string()), cleared: z.array(z.string()) }),
    planCreatedAtMs: nullableNumber,
    acked: z.strictObject({ telemetry: z.number().int(), writes: z.number().int() }),
  }),
  z.strictObject({ type: z.literal('count'), rows: z.array(z.strictObject({ timeMs: z.number(), telemetry: z.number().int(), writes: z.number().int() })) }),
  z.strictObject({
    type: z.literal('audit'),
    writes: z.array(z.strictObject({ timeMs: z.number(), device: z.string(), point: z.string(), written: z.number() })),
    activeAlarms: z.array(z.string()),
    alarmsInStore: z.number().int(),
  }),
  z.strictObject({ type: z.literal('stopped') }),
  z.strictObject({ type: z.literal('frozen'), storeCalls: z.number().int() }),
  z.strictObject({ type: z.literal('error'), op: z.string().nullable(), message: z.string() }),
])

export type ServiceReply = z.infer<typeof replySchema>

/** One line from the service process to the soak coordinator, checked. */
export function parseServiceReply(line: string): ServiceReply {
  let json: unknown
  try {
    json = JSON.parse(line)
  } catch (cause) {
    throw new SoakError(`service reply: not JSON: ${line.slice(0, 200)}`, { cause })
  }
  const result = replySchema.safeParse(json)
  if (!result.success) throw new SoakError(`service reply: ${result.error.issues.map((i) => describeZodIssue(i, json)).join('; ')}`)
  return result.data
}
