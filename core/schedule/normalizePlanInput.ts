import type { PlanInput } from './planInputSchema.ts'

/** Something the plan wants the operator to know: a filled hole, a clamped setting. */
export type PlanWarning = { code: string; message: string }

export type NormalizedBattery = {
  capacityKWh: number
  initialKWh: number
  /** Per-slot SoC bounds at the end of each slot (kWh): the configured range, widened where the start lies outside it. */
  minKWh: number[]
  maxKWh: number[]
  configuredMinKWh: number
  configuredMaxKWh: number
  maxChargeKw: number
  maxDischargeKw: number
  chargeEfficiency: number
  dischargeEfficiency: number
  degradationEurPerKWh: number
  targetEndKWh: number | undefined
}

export type NormalizedFlexibleLoad = {
  id: string
  powerKw: number
  requiredSlots: number
  /** Slot indexes inside the load's window. */
  windowSlots: number[]
}

/**
 * A run of consecutive peak-price slots (the horizon's highest import price, above its lowest)
 * where the P90 load exceeds the forecast: the plan keeps SoC headroom through it.
 * `extraKWh[j]` is the stored energy the P90 load would take beyond the forecast from the
 * run's first slot to the end of `slots[j]` (AC energy / discharge efficiency).
 */
export type LoadHeadroomBlock = { slots: number[]; extraKWh: number[]; importPriceEurPerKWh: number; lowestImportPriceEurPerKWh: number }

/** The input in solver units (kW, kWh, hours) with every hole filled. */
export type NormalizedPlanInput = {
  input: PlanInput
  slotCount: number
  slotHours: number
  loadKw: number[]
  /** P90 of the load where given (never below loadKw), else loadKw. */
  loadP90Kw: number[]
  /** Where the plan keeps headroom against the P90 load (empty without loadP90PowerW or a battery). */
  loadHeadroom: LoadHeadroomBlock[]
  pvKw: number[]
  importPrice: number[]
  exportPrice: number[]
  /** undefined = no market in that slot. */
  marketBuyPrice: (number | undefined)[]
  marketSellPrice: (number | undefined)[]
  battery: NormalizedBattery | undefined
  flexibleLoads: NormalizedFlexibleLoad[]
  warnings: PlanWarning[]
}

type SeriesKey = 'loadPowerW' | 'pvPowerW' | 'importPriceEurPerKWh' | 'exportPriceEurPerKWh'

/**
 * Fills forecast and price holes and turns contradictory settings into warnings.
 * Rules (README.md): power holes are interpolated linearly between the nearest known
 * slots and take the nearest known value at the ends; price holes carry the previous
 * known price forward (the first known price backwards); a series with no value at all
 * is 0. Market prices are not filled: no price means no trading in that slot.
 */
export function normalizePlanInput(parsed: PlanInput): NormalizedPlanInput {
  const input = withoutTinyMagnitudes(parsed)
  const warnings: PlanWarning[] = []
  const slotCount = input.slots.length
  const slotHours = input.slotDurationMs / 3_600_000

  const fill = (key: SeriesKey, mode: 'interpolate' | 'hold'): number[] => {
    const raw = input.slots.map((slot) => slot[key] ?? undefined)
    const { values, missing } = fillSeries(raw, mode)
    if (missing.length === slotCount) {
      warnings.push({
        code: `missing-${key}`,
        message: `slots[*].${key}: no value in any slot; planned with 0`,
      })
    } else if (missing.length > 0) {
      const rule = mode === 'interpolate' ? 'interpolated linearly between the nearest known slots' : 'filled with the previous known price'
      warnings.push({
        code: `missing-${key}`,
        message: `slots${formatRanges(missing)}.${key}: ${missing.length} missing value${missing.length > 1 ? 's' : ''} ${rule}`,
      })
    }
    return values
  }

  const loadKw = fill('loadPowerW', 'interpolate').map((w) => w / 1000)
  const pvKw = fill('pvPowerW', 'interpolate').map((w) => w / 1000)
  const importPrice = fill('importPriceEurPerKWh', 'hold')
  const exportPrice = fill('exportPriceEurPerKWh', 'hold')
  const marketBuyPrice = input.slots.map((slot) => slot.marketBuyPriceEurPerKWh ?? undefined)
  const marketSellPrice = input.slots.map((slot) => slot.marketSellPriceEurPerKWh ?? undefined)

  const battery = input.battery ? normalizeBattery(input, slotCount, slotHours, warnings) : undefined
  const loadP90Kw = input.slots.map((slot, t) => Math.max(loadKw[t]!, (slot.loadP90PowerW ?? 0) / 1000))
  const loadHeadroom = battery ? findLoadHeadroom(loadKw, loadP90Kw, importPrice, slotHours, battery.dischargeEfficiency) : []

  const flexibleLoads = input.flexibleLoads.map((load) => {
    const windowStartMs = load.earliestStartMs ?? input.startMs
    const windowEndMs = load.latestEndMs ?? input.startMs + slotCount * input.slotDurationMs
    const windowSlots: number[] = []
    for (let t = 0; t < slotCount; t++) {
      const slotStartMs = input.startMs + t * input.slotDurationMs
      if (slotStartMs >= windowStartMs && slotStartMs + input.slotDurationMs <= windowEndMs) windowSlots.push(t)
    }
    return { id: load.id, powerKw: load.powerW / 1000, requiredSlots: load.requiredSlots, windowSlots }
  })

  return {
    input,
    slotCount,
    slotHours,
    loadKw,
    loadP90Kw,
    loadHeadroom,
    pvKw,
    importPrice,
    exportPrice,
    marketBuyPrice,
    marketSellPrice,
    battery,
    flexibleLoads,
    warnings,
  }
}

/** Runs of peak-price slots (the highest import price, above the lowest) and the P90 load's extra stored energy through each. */
function findLoadHeadroom(loadKw: number[], loadP90Kw: number[], importPrice: number[], slotHours: number, dischargeEfficiency: number): LoadHeadroomBlock[] {
  const peak = Math.max(...importPrice)
  const lowest = Math.min(...importPrice)
  if (!(peak > lowest) || loadP90Kw.every((p90, t) => p90 <= loadKw[t]!)) return []
  const blocks: LoadHeadroomBlock[] = []
  let open: LoadHeadroomBlock | null = null
  for (let t = 0; t < loadKw.length; t++) {
    if (importPrice[t]! !== peak) {
      open = null
      continue
    }
    if (!open) blocks.push((open = { slots: [], extraKWh: [], importPriceEurPerKWh: peak, lowestImportPriceEurPerKWh: lowest }))
    const before = open.extraKWh.at(-1) ?? 0
    // Below a milliwatt the two are the same forecast (rounding), not a spread to hedge.
    const extraKw = loadP90Kw[t]! - loadKw[t]! > 1e-6 ? loadP90Kw[t]! - loadKw[t]! : 0
    open.slots.push(t)
    open.extraKWh.push(before + (extraKw * slotHours) / dischargeEfficiency)
  }
  return blocks.filter((b) => b.extraKWh.at(-1)! > 0)
}

function normalizeBattery(
  input: PlanInput,
  slotCount: number,
  slotHours: number,
  warnings: PlanWarning[],
): NormalizedBattery {
  const b = input.battery!
  const capacityKWh = b.capacityWh / 1000
  const initialKWh = (b.socPct / 100) * capacityKWh
  // minSocPct <= maxSocPct: the schema refuses an empty range (planInputSchema.ts).
  const minPct = b.minSocPct
  const maxPct = b.maxSocPct
  const maxChargeKw = b.maxChargePowerW / 1000
  const maxDischargeKw = b.maxDischargePowerW / 1000
  const configuredMinKWh = (minPct / 100) * capacityKWh
  const configuredMaxKWh = (maxPct / 100) * capacityKWh

  // The start is a measurement and may lie outside the range: the bounds then widen
  // to what full-power charging or discharging can reach, so the battery returns into
  // the range as fast as it physically can instead of making the model infeasible.
  const chargeKWhPerSlot = maxChargeKw * b.chargeEfficiency * slotHours
  const dischargeKWhPerSlot = (maxDischargeKw / b.dischargeEfficiency) * slotHours
  const minKWh: number[] = []
  const maxKWh: number[] = []
  for (let t = 0; t < slotCount; t++) {
    minKWh.push(Math.min(configuredMinKWh, initialKWh + (t + 1) * chargeKWhPerSlot))
    maxKWh.push(Math.max(configuredMaxKWh, initialKWh - (t + 1) * dischargeKWhPerSlot))
  }
  if (initialKWh < configuredMinKWh) {
    warnings.push({
      code: 'initial-soc-below-min',
      message: `battery.socPct (${b.socPct}) is below battery.minSocPct (${minPct}): the plan charges back into range as fast as the charge limit allows`,
    })
  }
  if (initialKWh > configuredMaxKWh) {
    warnings.push({
      code: 'initial-soc-above-max',
      message: `battery.socPct (${b.socPct}) is above battery.maxSocPct (${maxPct}): the plan discharges back into range as fast as the discharge limit allows`,
    })
  }

  let targetEndKWh: number | undefined
  if (b.targetEndSocPct !== undefined) {
    const clampedPct = Math.min(Math.max(b.targetEndSocPct, minPct), maxPct)
    if (clampedPct !== b.targetEndSocPct) {
      warnings.push({
        code: 'end-soc-target-clamped',
        message: `battery.targetEndSocPct (${b.targetEndSocPct}) is outside [minSocPct, maxSocPct] = [${minPct}, ${maxPct}]; using ${clampedPct}`,
      })
    }
    targetEndKWh = (clampedPct / 100) * capacityKWh
  }

  return {
    capacityKWh,
    initialKWh,
    minKWh,
    maxKWh,
    configuredMinKWh,
    configuredMaxKWh,
    maxChargeKw,
    maxDischargeKw,
    chargeEfficiency: b.chargeEfficiency,
    dischargeEfficiency: b.dischargeEfficiency,
    degradationEurPerKWh: b.degradationCostEurPerKWh,
    targetEndKWh,
  }
}

function fillSeries(raw: (number | undefined)[], mode: 'interpolate' | 'hold'): { values: number[]; missing: number[] } {
  const missing: number[] = []
  const known: number[] = []
  raw.forEach((value, index) => (value === undefined ? missing.push(index) : known.push(index)))
  if (known.length === 0) return { values: raw.map(() => 0), missing }
  const values = new Array<number>(raw.length)
  let previous = -1
  for (let t = 0; t < raw.length; t++) {
    const value = raw[t]
    if (value !== undefined) {
      values[t] = value
      previous = t
      continue
    }
    if (previous < 0) {
      values[t] = raw[known[0]!]!
      continue
    }
    const previousValue = raw[previous]!
    if (mode === 'hold') {
      values[t] = previousValue
      continue
    }
    let next = t + 1
    while (next < raw.length && raw[next] === undefined) next++
    if (next >= raw.length) {
      values[t] = previousValue
      continue
    }
    const nextValue = raw[next]!
    values[t] = previousValue + ((nextValue - previousValue) * (t - previous)) / (next - previous)
  }
  return { values, missing }
}

function formatRanges(indexes: number[]): string {
  const parts: string[] = []
  let start = indexes[0]!
  let end = start
  for (const index of [...indexes.slice(1), Number.NaN]) {
    if (index === end + 1) {
      end = index
      continue
    }
    parts.push(start === end ? `${start}` : `${start}..${end}`)
    start = index
    end = index
  }
  const shown = parts.length > 6 ? [...parts.slice(0, 6), '...'] : parts
  return `[${shown.join(',')}]`
}

/** Below a nanowatt or a nano-euro per kWh a value is noise, and next to 1 GW it is numerical poison for HiGHS. */
const TINY = 1e-9
const snap = (value: number) => (Math.abs(value) < TINY ? 0 : value)
const snapOptional = <T extends number | null | undefined>(value: T): T => (typeof value === 'number' ? (snap(value) as T) : value)

/**
 * The input with powers and prices below 1e-9 (W, EUR/kWh, EUR/kW) set to 0. Subnormal
 * values such as 5e-324 beside 1e9 made HiGHS end with status 'unknown' (a fallback plan)
 * on inputs the schema accepts (found by test/fuzz/planSolveFuzz.ts).
 */
function withoutTinyMagnitudes(input: PlanInput): PlanInput {
  const slots = input.slots.map((slot) => ({
    ...slot,
    loadPowerW: snapOptional(slot.loadPowerW),
    pvPowerW: snapOptional(slot.pvPowerW),
    loadP90PowerW: snapOptional(slot.loadP90PowerW),
    importPriceEurPerKWh: snapOptional(slot.importPriceEurPerKWh),
    exportPriceEurPerKWh: snapOptional(slot.exportPriceEurPerKWh),
    marketBuyPriceEurPerKWh: snapOptional(slot.marketBuyPriceEurPerKWh),
    marketSellPriceEurPerKWh: snapOptional(slot.marketSellPriceEurPerKWh),
  }))
  const b = input.battery
  const battery = b && { ...b, maxChargePowerW: snap(b.maxChargePowerW), maxDischargePowerW: snap(b.maxDischargePowerW), degradationCostEurPerKWh: snap(b.degradationCostEurPerKWh) }
  const g = input.grid
  const grid = { ...g, maxImportPowerW: snapOptional(g.maxImportPowerW), maxExportPowerW: snapOptional(g.maxExportPowerW), peakChargeEurPerKW: snap(g.peakChargeEurPerKW), billingPeakSoFarW: snap(g.billingPeakSoFarW) }
  const market = { ...input.market, maxBuyPowerW: snapOptional(input.market.maxBuyPowerW), maxSellPowerW: snapOptional(input.market.maxSellPowerW) }
  const p = input.penalties
  const penalties = { gridLimitEurPerKWh: snap(p.gridLimitEurPerKWh), endSocShortfallEurPerKWh: snap(p.endSocShortfallEurPerKWh), flexibleLoadUnmetEurPerKWh: snap(p.flexibleLoadUnmetEurPerKWh) }
  return { ...input, slots, battery, grid, market, penalties }
}
