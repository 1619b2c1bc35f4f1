import { z } from 'zod'
import { describeZodIssue, formatIssuePath } from '../../errors/describeZodIssue.ts'
import { fromJsonLine } from '../../market/jsonLines.ts'
import { DemoSiteError } from './DemoSiteError.ts'

const uint = z.number().int().nonnegative()
// A compact (EIP-2098) signature is two 32-byte words; a shorter or longer one is no signature.
const word = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'a 32-byte word as 0x and 64 hex digits')

const signedOrder = z.strictObject({
  siteId: uint,
  interval: z.bigint(),
  side: z.union([z.literal(0), z.literal(1)]),
  energyWh: uint,
  limitPrice: z.bigint(),
  deadline: z.bigint(),
  r: word,
  vs: word,
})

const clearing = z.strictObject({
  interval: z.bigint(),
  price: z.bigint().nullable(),
  matches: z.array(z.strictObject({ sellerSiteId: uint, buyerSiteId: uint, energyWh: uint })),
  tradedWh: uint,
})

/** One line from the demo coordinator to a site process (bigints as {"$bigint": "..."}). */
export const siteRequestSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('hello'),
    siteId: uint,
    /** weather (cloud) seed of the site's simulator */
    seed: uint,
    domain: z.strictObject({ name: z.literal('GridMesh Market'), version: z.literal('1'), chainId: uint, verifyingContract: z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'a 20-byte address').transform((a) => a as `0x${string}`) }),
    importCapWh: uint,
    exportCapWh: uint,
    /** where the site's key files live (created sealed on first start) */
    keyDir: z.string().min(1),
    /** the market's interval grid, chain seconds: interval i starts at genesisS + i * intervalSec */
    genesisS: z.bigint(),
    intervalSec: z.bigint(),
    /** chain time of the first interval, ms: the simulator's clock starts here */
    startMs: z.number().int(),
    /** what the site has behind its meter; the simulator validates it when it loads the site file */
    hardware: z.strictObject({ pvRatedW: z.number(), batteryCapacityWh: z.number(), batteryMaxW: z.number(), initialSocPct: z.number(), loadPeakW: z.number() }),
  }),
  z.strictObject({ type: z.literal('order'), interval: z.bigint(), deadline: z.bigint() }),
  z.strictObject({ type: z.literal('clearing'), orders: z.array(signedOrder), clearing }),
  z.strictObject({ type: z.literal('reading'), interval: z.bigint() }),
  z.strictObject({ type: z.literal('bye') }),
])

export type SiteRequest = z.infer<typeof siteRequestSchema>

/** Parses one request line; a line that is not JSON or not a request is a DemoSiteError saying what was expected. */
export function parseSiteRequest(line: string, where: string): SiteRequest {
  let value: unknown
  try {
    value = fromJsonLine<unknown>(line)
  } catch (cause) {
    throw new DemoSiteError(`${where}: malformed request line: ${(cause as Error).message}; expected one JSON object per line`, { cause })
  }
  const parsed = siteRequestSchema.safeParse(value)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    let problem: string
    try {
      problem = describeZodIssue(issue, value)
    } catch {
      problem = `${formatIssuePath(issue.path) || '(top level)'}: ${issue.message}` // the value there is a bigint, which JSON cannot show
    }
    throw new DemoSiteError(`${where}: malformed request line: ${problem}; expected a hello, order, clearing, reading or bye request`)
  }
  return parsed.data
}
