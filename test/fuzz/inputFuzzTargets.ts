// The file and message parsers that face the outside, as pure fuzz targets: site files
// (core's and the simulator's), device profiles, load CSVs, plan inputs, and the market's
// signed orders and readings. Each generator starts from a real, valid input and breaks
// it (hostile values at random paths, hostile YAML, cut text) or makes noise; each check
// says what the parser guarantees: a valid value, or its own named error.
import { strict as assert } from 'node:assert'
import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml'
import { SiteFileError, parseSiteFile } from '../../core/devices/site/loadSiteFile.ts'
import { siteFileSchema } from '../../core/devices/site/siteFileSchema.ts'
import { ProfileFileError } from '../../core/devices/profiles/errors.ts'
import { parseProfile } from '../../core/devices/profiles/loadProfile.ts'
import { LoadCsvError } from '../../core/forecast/errors.ts'
import { readLoadCsv } from '../../core/forecast/readLoadCsv.ts'
import { toRegularSeries } from '../../core/forecast/toRegularSeries.ts'
import { clearAuction } from '../../core/market/clearAuction.ts'
import { encodeClearing, packOrder, packReading } from '../../core/market/encodeClearing.ts'
import { MarketInputError } from '../../core/market/MarketInputError.ts'
import type { SignedMeterReading, SignedOrder } from '../../core/market/signMarketData.ts'
import { PlanInputError } from '../../core/schedule/PlanInputError.ts'
import { normalizePlanInput } from '../../core/schedule/normalizePlanInput.ts'
import { parsePlanInput } from '../../core/schedule/parsePlanInput.ts'
import { SiteFileError as SimSiteFileError, parseSite } from '../../hardware-sims/site/loadSite.ts'
import type { FuzzTarget } from './modbusFuzzTargets.ts'

const root = new URL('../../', import.meta.url)
const readText = (path: string) => readFileSync(new URL(path, root), 'utf8')

/** Throws unless `error` is one of the parser's own errors: anything else is a crash. */
function expectNamed(error: unknown, ...classes: (abstract new (...args: never[]) => Error)[]): void {
  if (classes.some((c) => error instanceof c)) {
    const message = (error as Error).message
    assert.ok(message.length > 0, 'an error without a message')
    return
  }
  throw error
}

/** Values that break parsers: extremes, wrong types, prototype names, deep and wide structures. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  {
    weight: 4,
    arbitrary: fc.constantFrom<unknown>(1e308, -1e308, 5e-324, -0, 2 ** 53 + 2, 1e21, -1, 0, 0.5, 65_536, 4_294_967_296, 1e9, 1e10, '', ' ', '\u0000', 'NaN', 'Infinity', '1e999', '__proto__', 'constructor', 'toString', true, null, [], {}),
  },
  { weight: 2, arbitrary: fc.double() },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.integer({ min: 10, max: 300 }).map((depth) => { let v: unknown = 1; for (let i = 0; i < depth; i++) v = [v]; return v }) },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 3000 }).map((n) => Array.from({ length: n }, (_, i) => i)) },
)

type Path = (string | number)[]

/** Every path in a JSON value, containers and leaves, root first. */
function pathsOf(value: unknown, limit = 2000): { path: Path; container: boolean }[] {
  const out: { path: Path; container: boolean }[] = []
  const stack: [unknown, Path][] = [[value, []]]
  while (stack.length && out.length < limit) {
    const [node, path] = stack.pop()!
    const container = node !== null && typeof node === 'object'
    out.push({ path, container })
    if (Array.isArray(node)) node.forEach((child, i) => stack.push([child, [...path, i]]))
    else if (container) for (const [k, child] of Object.entries(node as object)) stack.push([child, [...path, k]])
  }
  return out
}

type Mutation = { pick: number; kind: 'replace' | 'delete' | 'add' | 'wrap'; key: string; value: unknown }
const jsonMutations = fc.array(
  fc.record({ pick: fc.nat(), kind: fc.constantFrom<Mutation['kind']>('replace', 'replace', 'delete', 'add', 'wrap'), key: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'name', 'devices', 'type')), value: hostileValue }),
  { minLength: 1, maxLength: 4 },
)

/** A deep copy of `base` with the mutations applied at paths picked from it. */
function mutateJson(base: unknown, mutations: Mutation[]): unknown {
  let root: unknown = structuredClone(base)
  for (const mutation of mutations) {
    // fast-check hands out the same instance of a constant ({} or []) to every run: copy it, or one run's edits leak into the next.
    const m = { ...mutation, value: structuredClone(mutation.value) }
    const paths = pathsOf(root)
    const target = paths[m.pick % paths.length]!
    const parentPath = target.path.slice(0, -1)
    const last = target.path[target.path.length - 1]
    let parent: unknown = root
    for (const key of parentPath) parent = (parent as Record<string | number, unknown>)[key]
    const set = (value: unknown) => {
      if (last === undefined) root = value
      else (parent as Record<string | number, unknown>)[last] = value
    }
    const current = last === undefined ? root : (parent as Record<string | number, unknown>)[last]
    if (m.kind === 'replace') set(m.value)
    else if (m.kind === 'wrap') set([current])
    else if (m.kind === 'delete') {
      if (last === undefined) root = null
      else if (Array.isArray(parent)) parent.splice(Number(last), 1)
      else delete (parent as Record<string, unknown>)[last as string]
    } else if (current !== null && typeof current === 'object') {
      if (Array.isArray(current)) current.push(m.value)
      else Object.defineProperty(current, m.key, { value: m.value, enumerable: true, writable: true, configurable: true })
    }
  }
  return root
}

/** Fragments of YAML that parsers trip on: anchors, aliases (also to themselves), tags, merge keys, directives, documents. */
const yamlFragment = fc.constantFrom(
  '&a ', '*a', '*nope', '<<: *a\n', '&a [*a]', '!!binary AAAA', '!!js/function "x"', '!!set {a, b}', '!!omap [a: 1]', '!!int 0x7fffffffffffffffffffffff',
  '!!float .nan', '.inf', '-.inf', '? [a, b]\n: c\n', '---\n', '\n...\n', '%YAML 1.1\n', '%TAG ! tag:x,2000:\n', '\t', '"\\u0000"', '{', '[', '- - - -',
  'x: &b {y: *b}\n', '\u2028', '\uFEFF', '#', ': :', '"', "'", '|\n  text\n', '>-\n  folded\n', '@', '`', '0o777', '1_000', '2001-12-14t21:59:43.10-05:00',
)

/** YAML (or JSON) text from a structure: mutated, then serialised and sometimes cut or spliced with hostile fragments. */
const yamlTextFrom = (base: unknown) =>
  fc
    .record({
      mutations: fc.option(jsonMutations, { nil: undefined, freq: 4 }),
      format: fc.constantFrom('yaml', 'yaml', 'json', 'flow'),
      splices: fc.array(fc.record({ at: fc.nat(), text: fc.oneof({ weight: 3, arbitrary: yamlFragment }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) }) }), { maxLength: 3 }),
      cut: fc.option(fc.nat(), { nil: undefined, freq: 8 }),
    })
    .map(({ mutations, format, splices, cut }) => {
      const value = mutations ? mutateJson(base, mutations) : base
      let text: string
      try {
        text = format === 'json' ? JSON.stringify(value) ?? 'null' : stringifyYaml(value, format === 'flow' ? { collectionStyle: 'flow' } : undefined)
      } catch {
        text = String(value)
      }
      for (const s of splices) {
        const at = s.at % (text.length + 1)
        text = text.slice(0, at) + s.text + text.slice(at)
      }
      return cut === undefined ? text : text.slice(0, cut % (text.length + 1))
    })

const coreSite = parseYaml(/```yaml\n([\s\S]*?)```/.exec(readText('core/devices/site/README.md'))![1]!) as unknown
const simSite = parseYaml(readText('hardware-sims/sites/demo.yaml')) as unknown

/** core's site files: parseSiteFile gives a site that validates again, or a SiteFileError naming problems. */
export const siteFileTarget: FuzzTarget<string> = {
  name: 'site-file',
  arbitrary: fc.oneof({ weight: 8, arbitrary: yamlTextFrom(coreSite) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }) }),
  check(text) {
    try {
      const site = parseSiteFile(text, 'site.yaml')
      assert.ok(siteFileSchema.safeParse(site).success, 'an accepted site does not validate again')
    } catch (error) {
      expectNamed(error, SiteFileError)
      const problems = (error as SiteFileError).problems
      assert.ok(problems.length > 0 && problems.every((p) => typeof p === 'string' && p.length > 0))
    }
  },
}

/** The simulator's site files: parseSite gives a site config or its SiteFileError. */
export const simSiteFileTarget: FuzzTarget<string> = {
  name: 'sim-site-file',
  arbitrary: fc.oneof({ weight: 8, arbitrary: yamlTextFrom(simSite) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }) }),
  check(text) {
    try {
      const site = parseSite(text, 'site.yaml')
      assert.ok(site.devices.length >= 1)
    } catch (error) {
      expectNamed(error, SimSiteFileError)
      assert.ok((error as SimSiteFileError).problems.length > 0)
    }
  },
}

const profileIds = ['eastron-sdm630', 'huawei-sun2000', 'sma-sunny-tripower', 'victron-gx'] as const
const profiles = profileIds.map((id) => ({ id, value: JSON.parse(readText(`core/devices/profiles/${id}.json`)) as unknown }))

/** Device profiles: parseProfile gives a profile or a ProfileFileError. */
export const profileTarget: FuzzTarget<{ id: string; text: string }> = {
  name: 'device-profile',
  arbitrary: fc.oneof(
    { weight: 6, arbitrary: fc.tuple(fc.constantFrom(...profiles), jsonMutations).map(([p, m]) => ({ id: p.id, text: JSON.stringify(mutateJson(p.value, m)) ?? 'null' })) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...profiles), fc.nat()).map(([p, cut]) => { const t = JSON.stringify(p.value); return { id: p.id, text: t.slice(0, cut % t.length) } }) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...profiles), fc.string({ unit: 'binary', maxLength: 200 })).map(([p, text]) => ({ id: p.id, text })) },
  ),
  check({ id, text }) {
    try {
      const profile = parseProfile(text, `${id}.json`)
      assert.equal(profile.id, id)
    } catch (error) {
      expectNamed(error, ProfileFileError)
    }
  },
}

const csvCell = fc.oneof(
  { weight: 8, arbitrary: fc.double({ min: 0, max: 5000, noNaN: true }).map((v) => String(Math.round(v * 1000) / 1000)) },
  { weight: 2, arbitrary: fc.constantFrom('', 'NaN', 'nan', 'NA', '-', 'null', '1e308', '1e999', '-1e308', 'Infinity', '-Infinity', '-3', 'abc', '5 kW', '5 kWh', '5 MW', '"1,5"', '0x10', '1e-320', '.5', '+7', '1.2.3') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 10 }) },
)
const csvStep = fc.constantFrom(60_000, 900_000, 900_000, 1_800_000, 3_600_000, 7 * 60_000)
type CsvRow = { jump: number; cell: string; temp: string; holiday: string }
const csvRow = fc.record({
  jump: fc.oneof({ weight: 20, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.constantFrom(0, -1, 2, 96, 2000, 40_000, 400_000, 5_000_000) }),
  cell: csvCell,
  temp: fc.oneof(fc.constantFrom('', 'NA', '-90', '80', '1e999'), fc.integer({ min: -20, max: 40 }).map(String)),
  holiday: fc.constantFrom('0', '1', 'yes', '', 'x'),
})

/** Load history CSVs: regular series with holes, jumps, bad cells and timestamps in several formats. */
const csvText = fc
  .record({
    header: fc.constantFrom('timestamp,load_kw', 'time;demand_kw', 'timestamp,load_w,temperature_c,holiday', 'ts,power_mw', 'date,consumption', 'a,b', 'timestamp', 'timestamp,load_kwh'),
    format: fc.constantFrom('iso', 'naive', 'unix-s', 'unix-ms', 'garbage'),
    startMs: fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2030, 0, 1) }),
    stepMs: csvStep,
    rows: fc.array(csvRow, { minLength: 0, maxLength: 400 }),
    crlf: fc.boolean(),
  })
  .map(({ header, format, startMs, stepMs, rows, crlf }) => {
    const delimiter = header.includes(';') ? ';' : ','
    let t = startMs
    const stamp = (ms: number) => {
      const iso = new Date(ms).toISOString()
      if (format === 'iso') return iso
      if (format === 'naive') return iso.slice(0, 16).replace('T', ' ')
      if (format === 'unix-s') return String(Math.floor(ms / 1000))
      if (format === 'unix-ms') return String(ms)
      return `${iso.slice(0, 10)}x`
    }
    const lines = [header, ...rows.map((r: CsvRow) => {
      t += r.jump * stepMs
      const cells = [stamp(t), r.cell]
      if (header.includes('temperature')) cells.push(r.temp, r.holiday)
      return cells.join(delimiter)
    })]
    return lines.join(crlf ? '\r\n' : '\n')
  })

/** Load CSVs: readLoadCsv and toRegularSeries give a series or a LoadCsvError naming the row. */
export const loadCsvTarget: FuzzTarget<{ text: string; timeZone: string | undefined }> = {
  name: 'load-csv',
  arbitrary: fc.record({
    text: fc.oneof({ weight: 8, arbitrary: csvText }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }) }),
    timeZone: fc.constantFrom(undefined, 'UTC', 'Europe/Berlin', 'Australia/Melbourne'),
  }),
  check({ text, timeZone }) {
    try {
      const csv = readLoadCsv({ file: 'load.csv', text, timeZone })
      for (let i = 0; i < csv.loadKw.length; i++) {
        const v = csv.loadKw[i]!
        assert.ok(Number.isNaN(v) || (v >= 0 && v <= 1e8), `row ${csv.rows[i]}: a load of ${v} kW was accepted`)
        if (i > 0) assert.ok(csv.timesMs[i]! >= csv.timesMs[i - 1]!, 'time went backwards')
      }
      const series = toRegularSeries(csv)
      assert.ok(series.series.loadKw.length > 0)
    } catch (error) {
      expectNamed(error, LoadCsvError)
    }
  },
}

const examplePlan = JSON.parse(readText('test/fixtures/schedule/example-plan.json')) as unknown

/** Plan inputs: parsePlanInput gives an input normalizePlanInput can use (finite numbers throughout), or a PlanInputError. */
export const planInputTarget: FuzzTarget<unknown> = {
  name: 'plan-input',
  arbitrary: fc.oneof(
    { weight: 8, arbitrary: jsonMutations.map((m) => mutateJson(examplePlan, m)) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  ),
  check(data) {
    let input
    try {
      input = parsePlanInput(JSON.parse(JSON.stringify(data) ?? 'null'), 'plan.json')
    } catch (error) {
      expectNamed(error, PlanInputError)
      return
    }
    const normalized = normalizePlanInput(input)
    for (const series of [normalized.loadKw, normalized.pvKw, normalized.importPrice, normalized.exportPrice]) {
      assert.ok(series.every((v) => Number.isFinite(v)), 'a normalized series has a non-finite value')
    }
    const b = normalized.battery
    if (b) assert.ok([b.capacityKWh, b.initialKWh, b.maxChargeKw, b.maxDischargeKw, ...b.minKWh, ...b.maxKWh].every((v) => Number.isFinite(v)) && b.configuredMinKWh <= b.configuredMaxKWh)
  },
}

const hex32 = `0x${'ab'.repeat(32)}`
const numberField = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 2 ** 32 - 1 }) },
  { weight: 1, arbitrary: fc.constantFrom(-1, 2 ** 32, 2 ** 53, 1.5, Number.NaN, Number.POSITIVE_INFINITY, -0) },
)
const bigField = (bits: bigint) => fc.oneof({ weight: 6, arbitrary: fc.bigInt({ min: 0n, max: (1n << bits) - 1n }) }, { weight: 1, arbitrary: fc.constantFrom(-1n, 1n << bits, 1n << 256n) })
const signedOrder: fc.Arbitrary<SignedOrder> = fc.record({
  siteId: numberField,
  interval: bigField(32n),
  side: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(0, 1) }, { weight: 1, arbitrary: fc.constantFrom(2, 255, 256, -1) }),
  energyWh: numberField,
  limitPrice: bigField(64n),
  deadline: bigField(64n),
  r: fc.constant(hex32 as `0x${string}`),
  vs: fc.constant(hex32 as `0x${string}`),
}) as fc.Arbitrary<SignedOrder>
const signedReading: fc.Arbitrary<SignedMeterReading> = fc.record({ siteId: numberField, interval: bigField(64n), importWh: numberField, exportWh: numberField, r: fc.constant(hex32 as `0x${string}`), vs: fc.constant(hex32 as `0x${string}`) })

const bits = (value: bigint, shift: bigint, width: bigint) => (value >> shift) & ((1n << width) - 1n)

/** Signed orders and readings on their way to the chain: packOrder/packReading pack exactly the fields (or refuse by name), clearAuction and encodeClearing keep energy and sides. */
export const marketPackTarget: FuzzTarget<{ orders: SignedOrder[]; reading: SignedMeterReading; interval: bigint }> = {
  name: 'market-orders-readings',
  arbitrary: fc.record({ orders: fc.array(signedOrder, { maxLength: 8 }), reading: signedReading, interval: fc.constantFrom(0n, 7n, 2n ** 32n - 1n) }),
  check({ orders, reading, interval }) {
    for (const order of orders) {
      try {
        const { meta } = packOrder(order)
        assert.deepEqual(
          [bits(meta, 200n, 32n), bits(meta, 168n, 32n), bits(meta, 160n, 8n), bits(meta, 128n, 32n), bits(meta, 64n, 64n), bits(meta, 0n, 64n), meta >> 232n],
          [BigInt(order.siteId), order.interval, BigInt(order.side), BigInt(order.energyWh), order.limitPrice, order.deadline, 0n],
          'packOrder packed other values than the order has',
        )
      } catch (error) {
        expectNamed(error, MarketInputError)
      }
    }
    try {
      const { meta } = packReading(reading)
      assert.deepEqual([bits(meta, 64n, 64n), bits(meta, 32n, 32n), bits(meta, 0n, 32n), meta >> 128n], [reading.interval, BigInt(reading.importWh), BigInt(reading.exportWh), 0n], 'packReading packed other values than the reading has')
    } catch (error) {
      expectNamed(error, MarketInputError)
    }
    const sameInterval = orders.map((o) => ({ ...o, interval }))
    let clearing
    try {
      clearing = clearAuction(interval, sameInterval)
    } catch (error) {
      expectNamed(error, MarketInputError)
      return
    }
    const traded = clearing.matches.reduce((sum, m) => sum + m.energyWh, 0)
    assert.equal(traded, clearing.tradedWh)
    for (const m of clearing.matches) {
      assert.ok(m.energyWh > 0)
      assert.equal(sameInterval.find((o) => o.siteId === m.sellerSiteId)?.side, 1)
      assert.equal(sameInterval.find((o) => o.siteId === m.buyerSiteId)?.side, 0)
    }
    if (clearing.price === null) return
    try {
      const encoded = encodeClearing(clearing, sameInterval)
      assert.equal(encoded.matches.length, clearing.matches.length)
    } catch (error) {
      expectNamed(error, MarketInputError)
    }
  },
}

export const inputTargets = [siteFileTarget, simSiteFileTarget, profileTarget, loadCsvTarget, planInputTarget, marketPackTarget] as const
