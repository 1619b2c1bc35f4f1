import type { Highs, VariableType } from 'highs'
import { buildPlanModel, type Integrality, type PlanModel } from './buildPlanModel.ts'
import { getHighs } from './getHighs.ts'
import { computeReferenceCosts, type ReferenceCosts } from './computeReferenceCosts.ts'
import { normalizePlanInput, type NormalizedPlanInput, type PlanWarning } from './normalizePlanInput.ts'
import { parsePlanInput } from './parsePlanInput.ts'
import type { PlanInput, PlanInputParameters } from './planInputSchema.ts'

export const PLAN_VERSION = 1

export type PlanSlot = {
  startMs: number
  /** > 0 discharge, < 0 charge (AC side). */
  batteryPowerW: number
  /** > 0 import, < 0 export, including market quantities. */
  gridPowerW: number
  /** PV after curtailment. */
  pvPowerW: number
  pvCurtailedW: number
  /** Base load as planned with (holes filled). */
  loadPowerW: number
  /** State of charge at the end of the slot; null without a battery. */
  socPct: number | null
  flexibleLoads: { id: string; on: boolean; powerW: number }[]
  marketBuyW: number
  marketSellW: number
  importPriceEurPerKWh: number
  exportPriceEurPerKWh: number
  /** Why the plan does something beyond the plain optimum in this slot (e.g. SoC headroom against the P90 load); absent when nothing to say. */
  reasons?: string[]
}

export type UnmetGoal = {
  goal: 'end-soc-target' | 'grid-import-limit' | 'grid-export-limit' | 'flexible-load-run-time' | 'solver'
  message: string
  id?: string
  slotIndexes?: number[]
}

export type Plan = {
  version: typeof PLAN_VERSION
  createdAtMs: number
  startMs: number
  slotDurationMs: number
  objective: PlanInput['objective']
  /** The solver's objective (EUR for 'cost', including penalties for unmet goals); null for a fallback plan. */
  objectiveValue: number | null
  expectedCostEur: number
  costBreakdownEur: { energy: number; market: number; peak: number; degradation: number }
  /** The same forecast and prices without the plan: no battery, and plain self-consumption (computeReferenceCosts); absent in plans stored before it existed. */
  referenceCostsEur?: ReferenceCosts
  /** optimal: proven optimal (within mipRelGap); feasible: a limit stopped the solver with a valid plan; fallback: solver failed, battery idle. */
  status: 'optimal' | 'feasible' | 'fallback'
  initialSocPct: number | null
  unmetGoals: UnmetGoal[]
  warnings: PlanWarning[]
  solveStats: { solveTimeMs: number; rounds: number; integerVariables: number; columns: number; rows: number }
  slots: PlanSlot[]
}

export type PlanScheduleOptions = {
  /** The plan's createdAtMs (injected clock); default the input's startMs. */
  nowMs?: number
  /** The HiGHS runtime; default the process's warm one (getHighs). Tests inject failures here. */
  highs?: Highs
  /** Skip the LP-relaxation rounds and make every direction variable binary (the plain MILP; for benchmarks). */
  allBinary?: boolean
}

// 1 mW: below the solver's feasibility tolerance in kW, so a smaller overlap is noise.
const OVERLAP_TOLERANCE_KW = 1e-6
const MAX_RELAXATION_ROUNDS = 3
// These models are small and nearly integral, and the MILP gets a rounded start: the
// sub-MIP and jump heuristics and symmetry detection cost more than they find here
// (measured: 40 random small MILPs 1.7 s -> 0.06 s CPU, 96-slot plain MILP 457 -> 250 ms).
const LIGHT_MIP_OPTIONS = {
  mip_heuristic_run_rins: false,
  mip_heuristic_run_rens: false,
  mip_heuristic_run_root_reduced_cost: false,
  mip_heuristic_run_feasibility_jump: false,
  mip_detect_symmetry: false,
}

/**
 * Plans battery, grid, curtailment, flexible loads and market quantities for every slot.
 * Always returns a plan: goals the physics cannot meet are reported in unmetGoals.
 */
export async function planSchedule(parameters: PlanInputParameters, options: PlanScheduleOptions = {}): Promise<Plan> {
  const input = parsePlanInput(parameters)
  const normalized = normalizePlanInput(input)
  const highs = options.highs ?? (await getHighs())
  const started = performance.now()
  const result = solveWithRelaxationRounds(highs, normalized, options.allBinary === true)
  const solveTimeMs = performance.now() - started
  return toPlan(normalized, result, { createdAtMs: options.nowMs ?? input.startMs, solveTimeMs })
}

type Solved = { kind: 'solved'; status: 'optimal' | 'feasible'; x: Float64Array; objective: number }
type Failed = { kind: 'failed'; reason: string }
type SolveResult = (Solved | Failed) & { model: PlanModel; rounds: number; integerVariables?: number }

// The model is solved as its LP relaxation first, in one HiGHS instance that stays warm
// between rounds. A relaxed optimum that is integral and has no overlap is feasible for
// the MILP and at least as good as its optimum, so it is the MILP optimum:
// - simultaneous charge and discharge (or import and export) only pays when energy has
//   a negative value, so the relaxed direction variables usually keep them apart;
// - flexible loads pick the cheapest slots; the relaxation is fractional mostly on
//   price ties. Rounding them (largest relaxed value first) and re-solving the LP with
//   them fixed gives a feasible plan; if it is within the MIP gap of the relaxation's
//   bound it is optimal within that gap, like any MILP answer.
// Otherwise the flexible loads become binary, and so do the direction variables of the
// slots that overlapped (after MAX_RELAXATION_ROUNDS, of every slot), solved as a MILP.
function solveWithRelaxationRounds(highs: Highs, n: NormalizedPlanInput, allBinary: boolean): SolveResult {
  const integral: Integrality = {
    battery: new Array<boolean>(n.slotCount).fill(allBinary),
    grid: new Array<boolean>(n.slotCount).fill(allBinary),
    flexibleLoads: allBinary,
  }
  const model = buildPlanModel(n, integral)
  const { timeLimitMs, mipRelGap, mipAbsGap } = n.input.solver
  const deadline = performance.now() + timeLimitMs
  const withinGap = (upper: number, lower: number) => upper - lower <= Math.max(mipAbsGap, mipRelGap * Math.abs(upper))
  const c = model.columns
  const flexibleColumns = c.flexibleOn.flat().filter((column) => column >= 0).sort((a, b) => a - b)
  try {
    return highs.withModel(model.data, (m) => {
      m.options.set({ output_flag: false, mip_rel_gap: mipRelGap, mip_abs_gap: mipAbsGap, ...LIGHT_MIP_OPTIONS })
      const run = (): Solved | Failed => {
        // Presolve costs more than it saves on these LPs (interleaved A/B, CPU median per plan:
        // 96 slots 18 -> 13 ms, 672 slots 72 -> 60 ms); the MILP rounds keep it.
        const mip = integral.flexibleLoads || integral.battery.some(Boolean) || integral.grid.some(Boolean)
        m.options.set({ time_limit: Math.max(1, deadline - performance.now()) / 1000, presolve: mip ? 'choose' : 'off' })
        let modelStatus: number
        try {
          ;({ modelStatus } = m.run())
        } catch (error) {
          // Decided by the caller: an earlier valid plan, or the fallback plan.
          return { kind: 'failed', reason: `HiGHS failed: ${error instanceof Error ? error.message : String(error)}` }
        }
        const s = highs.constants.modelStatus
        if (modelStatus === s.optimal || m.info.get('primal_solution_status') === highs.constants.solutionStatus.feasible) {
          const status = modelStatus === s.optimal ? 'optimal' : 'feasible'
          return { kind: 'solved', status, x: m.getSolution().colValue, objective: m.getObjectiveValue() }
        }
        const name = Object.entries(s).find(([, code]) => code === modelStatus)?.[0] ?? String(modelStatus)
        return { kind: 'failed', reason: `HiGHS ended with status '${name}' and no feasible solution` }
      }
      const madeIntegral = new Set<number>()
      let integerVariables = model.integerColumns
      const setIntegral = (columns: number[]) => {
        const sorted = [...new Set(columns)].filter((column) => column >= 0 && !madeIntegral.has(column)).sort((a, b) => a - b)
        for (const column of sorted) madeIntegral.add(column)
        integerVariables = model.integerColumns + madeIntegral.size
        if (sorted.length > 0) {
          m.changeColsIntegrality({ kind: 'set', indices: sorted }, new Array<VariableType>(sorted.length).fill(1))
        }
      }

      // A valid plan (integral, no overlap) found on the way, in case a later round fails.
      let incumbent: Solved | undefined
      for (let round = 1; ; round++) {
        const solved = run()
        if (solved.kind === 'failed') {
          if (incumbent) return { ...incumbent, status: 'feasible' as const, model, rounds: round, integerVariables }
          return { ...solved, model, rounds: round }
        }
        const overlaps = findOverlaps(model, solved.x)
        const noOverlap = overlaps.battery.length === 0 && overlaps.grid.length === 0
        const fractional = !integral.flexibleLoads && hasFractionalFlexibleLoad(model, solved.x)
        if (noOverlap && !fractional) return { ...solved, model, rounds: round, integerVariables }
        // Every direction integer and no flexible load fractional: what is left is solver
        // tolerance noise (at 1 GW a binary within HiGHS's 1e-6 integrality tolerance still
        // lets ~1 kW through its big-M), and another round would find the same overlap again.
        const allIntegral = (integral.flexibleLoads || !fractional) && integral.battery.every(Boolean) && integral.grid.every(Boolean)
        if (allIntegral) return { ...solved, model, rounds: round, integerVariables }
        // Each round gets what is left of timeLimitMs; past it, the best valid plan so far or none.
        if (performance.now() > deadline) {
          if (incumbent) return { ...incumbent, status: 'feasible' as const, model, rounds: round, integerVariables }
          return { kind: 'failed' as const, reason: `no plan without simultaneous charge and discharge (or import and export) within solver.timeLimitMs (${timeLimitMs} ms)`, model, rounds: round }
        }

        let start: Float64Array | undefined
        // Only a proven LP optimum is a bound for the gap test.
        if (noOverlap && fractional && solved.status === 'optimal') {
          const bound = solved.objective
          const fixed = roundFlexibleLoads(n, model, solved.x)
          m.changeColsBounds({ kind: 'set', indices: flexibleColumns }, fixed, fixed)
          const rounded = run()
          m.changeColsBounds(
            { kind: 'set', indices: flexibleColumns },
            new Array<number>(flexibleColumns.length).fill(0),
            new Array<number>(flexibleColumns.length).fill(1),
          )
          if (rounded.kind === 'solved') {
            const roundedOverlaps = findOverlaps(model, rounded.x)
            if (roundedOverlaps.battery.length === 0 && roundedOverlaps.grid.length === 0) {
              if (withinGap(rounded.objective, bound)) return { ...rounded, model, rounds: round + 1, integerVariables }
              // Not provably good enough, but a valid plan and a start for the MILP.
              start = rounded.x
              incumbent = rounded
            }
          }
        }
        if (fractional) {
          integral.flexibleLoads = true
          setIntegral(flexibleColumns)
        }
        const battery = round >= MAX_RELAXATION_ROUNDS ? c.batteryDirection.map((_, t) => t) : overlaps.battery
        const grid = round >= MAX_RELAXATION_ROUNDS ? c.gridDirection.map((_, t) => t) : overlaps.grid
        for (const t of battery) integral.battery[t] = true
        for (const t of grid) integral.grid[t] = true
        setIntegral([...battery.map((t) => c.batteryDirection[t]!), ...grid.map((t) => c.gridDirection[t]!)])
        if (start) m.setSolution({ colValue: start })
      }
    })
  } catch (error) {
    // The plan must exist even when the solver breaks: report it, the caller falls back.
    const reason = `HiGHS failed: ${error instanceof Error ? error.message : String(error)}`
    return { kind: 'failed', reason, model, rounds: 1 }
  }
}

/** Each flexible load on in the requiredSlots window slots with the largest relaxed value (earliest on ties). */
function roundFlexibleLoads(n: NormalizedPlanInput, model: PlanModel, x: Float64Array): number[] {
  const fixed = new Map<number, number>()
  n.flexibleLoads.forEach((load, f) => {
    const columns = model.columns.flexibleOn[f]!
    const candidates = load.windowSlots.filter((t) => columns[t]! >= 0)
    const ranked = [...candidates].sort((a, b) => value(x, columns[b]!) - value(x, columns[a]!) || a - b)
    const on = new Set(ranked.slice(0, load.requiredSlots))
    for (const t of candidates) fixed.set(columns[t]!, on.has(t) ? 1 : 0)
  })
  return [...fixed.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v)
}

function hasFractionalFlexibleLoad(model: PlanModel, x: Float64Array): boolean {
  return model.columns.flexibleOn.some((slots) =>
    slots.some((column) => column >= 0 && Math.abs(x[column]! - Math.round(x[column]!)) > 1e-6),
  )
}

function value(x: Float64Array, column: number): number {
  return column < 0 ? 0 : (x[column] ?? 0)
}

function findOverlaps(model: PlanModel, x: Float64Array): { battery: number[]; grid: number[] } {
  const c = model.columns
  const battery: number[] = []
  const grid: number[] = []
  for (let t = 0; t < c.charge.length; t++) {
    if (value(x, c.charge[t]!) > OVERLAP_TOLERANCE_KW && value(x, c.discharge[t]!) > OVERLAP_TOLERANCE_KW) battery.push(t)
    const importKw = value(x, c.retailImport[t]!) + value(x, c.marketBuy[t]!)
    const exportKw = value(x, c.retailExport[t]!) + value(x, c.marketSell[t]!)
    if (importKw > OVERLAP_TOLERANCE_KW && exportKw > OVERLAP_TOLERANCE_KW) grid.push(t)
  }
  return { battery, grid }
}

const roundW = (kw: number) => Math.round(kw * 1e6) / 1e3
const roundPct = (pct: number) => Math.round(pct * 1e6) / 1e6
const roundEur = (eur: number) => Math.round(eur * 1e6) / 1e6
const clean = (kw: number) => (Math.abs(kw) < 1e-9 ? 0 : kw)

function toPlan(
  n: NormalizedPlanInput,
  result: SolveResult,
  meta: { createdAtMs: number; solveTimeMs: number },
): Plan {
  const { input, slotCount, slotHours: h, battery } = n
  const c = result.model.columns
  const solved = result.kind === 'solved'
  const x = solved ? result.x : new Float64Array(result.model.data.numCols)
  const unmetGoals: UnmetGoal[] = []
  const warnings = [...n.warnings]
  if (!solved) {
    unmetGoals.push({ goal: 'solver', message: `${result.reason}; fallback plan: battery idle, no curtailment, no flexible loads, no market` })
  }

  const slots: PlanSlot[] = []
  const importKw: number[] = []
  const exportKw: number[] = []
  let energy = 0
  let market = 0
  let degradation = 0
  let socKWh = battery?.initialKWh ?? 0
  for (let t = 0; t < slotCount; t++) {
    const pv = n.pvKw[t]!
    let ch = clean(Math.max(0, value(x, c.charge[t]!)))
    let dis = clean(Math.max(0, value(x, c.discharge[t]!)))
    let pvUsed = c.pvUsed[t]! < 0 ? 0 : Math.min(pv, Math.max(0, value(x, c.pvUsed[t]!)))
    const buy = clean(Math.max(0, value(x, c.marketBuy[t]!)))
    const sell = clean(Math.max(0, value(x, c.marketSell[t]!)))
    const flexible = n.flexibleLoads.map((load, f) => {
      const on = value(x, c.flexibleOn[f]![t]!) > 0.5
      return { id: load.id, on, powerW: on ? roundW(load.powerKw) : 0 }
    })
    if (!solved) {
      ch = 0
      dis = 0
      pvUsed = pv
    }
    if (battery) {
      socKWh = solved
        ? value(x, c.soc[t]!)
        : socKWh + (battery.chargeEfficiency * ch - dis / battery.dischargeEfficiency) * h
    }
    const flexibleKw = flexible.reduce((sum, load, f) => sum + (load.on ? n.flexibleLoads[f]!.powerKw : 0), 0)
    // The balance defines the grid power; retail import/export are what the meter bills besides the market.
    const gridKw = n.loadKw[t]! + flexibleKw - pvUsed - (dis - ch)
    const retailKw = gridKw - buy + sell
    const imp = solved ? clean(Math.max(0, value(x, c.retailImport[t]!))) : Math.max(0, retailKw)
    const exp = solved ? clean(Math.max(0, value(x, c.retailExport[t]!))) : Math.max(0, -retailKw)
    importKw.push(imp + buy)
    exportKw.push(exp + sell)
    energy += h * (n.importPrice[t]! * imp - n.exportPrice[t]! * exp)
    market += h * ((n.marketBuyPrice[t] ?? 0) * buy - (n.marketSellPrice[t] ?? 0) * sell)
    degradation += h * (battery?.degradationEurPerKWh ?? 0) * (ch + dis)
    slots.push({
      startMs: input.startMs + t * input.slotDurationMs,
      batteryPowerW: roundW(dis - ch),
      gridPowerW: roundW(gridKw),
      pvPowerW: roundW(pvUsed),
      pvCurtailedW: roundW(pv - pvUsed),
      loadPowerW: roundW(n.loadKw[t]!),
      socPct: battery ? roundPct((socKWh / battery.capacityKWh) * 100) : null,
      flexibleLoads: flexible,
      marketBuyW: roundW(buy),
      marketSellW: roundW(sell),
      importPriceEurPerKWh: n.importPrice[t]!,
      exportPriceEurPerKWh: n.exportPrice[t]!,
    })
  }
  const peakKw = Math.max(0, ...importKw)
  const peak = (input.grid.peakChargeEurPerKW * Math.max(0, peakKw - input.grid.billingPeakSoFarW / 1000))
  if (solved) unmetGoals.push(...findUnmetGoals(n, c, x, importKw, exportKw))

  return {
    version: PLAN_VERSION,
    createdAtMs: meta.createdAtMs,
    startMs: input.startMs,
    slotDurationMs: input.slotDurationMs,
    objective: input.objective,
    objectiveValue: solved ? roundEur(result.objective) : null,
    expectedCostEur: roundEur(energy + market + peak + degradation),
    costBreakdownEur: { energy: roundEur(energy), market: roundEur(market), peak: roundEur(peak), degradation: roundEur(degradation) },
    referenceCostsEur: computeReferenceCosts(n, slots.map((s) => s.flexibleLoads.reduce((sum, f) => sum + f.powerW, 0) / 1000)),
    status: solved ? result.status : 'fallback',
    initialSocPct: input.battery ? input.battery.socPct : null,
    unmetGoals,
    warnings,
    solveStats: {
      solveTimeMs: Math.round(meta.solveTimeMs * 1000) / 1000,
      rounds: result.rounds,
      integerVariables: result.integerVariables ?? result.model.integerColumns,
      columns: result.model.data.numCols,
      rows: result.model.data.numRows,
    },
    slots: solved ? withHeadroomReasons(n, c, x, slots) : slots,
  }
}

/** Says, in each slot of a peak-price run with a P90 load above the forecast, what headroom the plan keeps and whether it falls short. */
function withHeadroomReasons(n: NormalizedPlanInput, c: PlanModel['columns'], x: Float64Array, slots: PlanSlot[]): PlanSlot[] {
  const battery = n.battery
  if (!battery || c.loadHeadroomShortfall.length === 0) return slots
  const out = [...slots]
  n.loadHeadroom.forEach((block, b) => {
    const shortKWh = value(x, c.loadHeadroomShortfall[b]!)
    block.slots.forEach((t, j) => {
      const p90W = roundW(n.loadP90Kw[t]!)
      const extra = block.extraKWh[j]!
      const kept = Math.max(0, value(x, c.soc[t]!) - battery.minKWh[t]!)
      const reason =
        shortKWh > GOAL_TOLERANCE && kept < extra - GOAL_TOLERANCE
          ? `load P90 ${p90W} W at the peak import price ${block.importPriceEurPerKWh} EUR/kWh: headroom of ${kept.toFixed(2)} kWh above the minimum SoC, short of the ${extra.toFixed(2)} kWh the P90 load would draw beyond the forecast since the peak began (the battery's room goes to the forecast load first)`
          : `load P90 ${p90W} W at the peak import price ${block.importPriceEurPerKWh} EUR/kWh: keeps ${extra.toFixed(2)} kWh of SoC above the minimum as headroom for the P90 load beyond the forecast since the peak began`
      out[t] = { ...out[t]!, reasons: [...(out[t]!.reasons ?? []), reason] }
    })
  })
  return out
}

const GOAL_TOLERANCE = 1e-5

function findUnmetGoals(
  n: NormalizedPlanInput,
  c: PlanModel['columns'],
  x: Float64Array,
  importKw: number[],
  exportKw: number[],
): UnmetGoal[] {
  const goals: UnmetGoal[] = []
  const { input, battery, slotCount, slotHours: h } = n
  const maxDischargeKw = battery?.maxDischargeKw ?? 0
  const maxChargeKw = battery?.maxChargeKw ?? 0

  const overImport = c.importOverLimit.flatMap((col, t) => (value(x, col) > GOAL_TOLERANCE ? [t] : []))
  if (overImport.length > 0 && input.grid.maxImportPowerW !== undefined) {
    const limitKw = input.grid.maxImportPowerW / 1000
    const impossible = overImport.filter((t) => n.loadKw[t]! > limitKw + n.pvKw[t]! + maxDischargeKw + GOAL_TOLERANCE)
    const worst = overImport.reduce((a, t) => (importKw[t]! > importKw[a]! ? t : a), overImport[0]!)
    const why =
      impossible.length > 0
        ? `in ${impossible.length} of them the load alone exceeds the import limit + PV + the battery's max discharge`
        : battery
          ? 'the battery cannot store enough energy beforehand (capacity, SoC limits or charge power) to cover the load above the limit'
          : 'the load exceeds the import limit + PV and there is no battery'
    goals.push({
      goal: 'grid-import-limit',
      slotIndexes: overImport,
      message: `grid.maxImportPowerW (${input.grid.maxImportPowerW} W) exceeded in ${overImport.length} slot(s), worst slot ${worst} at ${roundW(importKw[worst]!)} W: ${why}`,
    })
  }

  const overExport = c.exportOverLimit.flatMap((col, t) => (value(x, col) > GOAL_TOLERANCE ? [t] : []))
  if (overExport.length > 0 && input.grid.maxExportPowerW !== undefined) {
    const worst = overExport.reduce((a, t) => (exportKw[t]! > exportKw[a]! ? t : a), overExport[0]!)
    const why = !input.allowPvCurtailment
      ? 'PV exceeds the export limit + load + the battery’s charge headroom and allowPvCurtailment is false'
      : 'the battery must discharge (its SoC starts above maxSocPct) faster than load and the export limit absorb'
    goals.push({
      goal: 'grid-export-limit',
      slotIndexes: overExport,
      message: `grid.maxExportPowerW (${input.grid.maxExportPowerW} W) exceeded in ${overExport.length} slot(s), worst slot ${worst} at ${roundW(exportKw[worst]!)} W: ${why}`,
    })
  }

  if (battery?.targetEndKWh !== undefined && value(x, c.endSocShortfall) > GOAL_TOLERANCE) {
    const endPct = (value(x, c.soc[slotCount - 1]!) / battery.capacityKWh) * 100
    const targetPct = (battery.targetEndKWh / battery.capacityKWh) * 100
    const reachableKWh = Math.min(battery.configuredMaxKWh, battery.initialKWh + slotCount * maxChargeKw * battery.chargeEfficiency * h)
    const maxPrice = Math.max(...n.importPrice, ...n.exportPrice)
    const why =
      reachableKWh < battery.targetEndKWh - GOAL_TOLERANCE
        ? `unreachable: charging at maxChargePowerW for the whole horizon ends at ${roundPct((reachableKWh / battery.capacityKWh) * 100)} %`
        : maxPrice > input.penalties.endSocShortfallEurPerKWh
          ? `selling or using the energy is worth more than penalties.endSocShortfallEurPerKWh (${input.penalties.endSocShortfallEurPerKWh})`
          : 'the grid import limit leaves too little power to charge'
    goals.push({
      goal: 'end-soc-target',
      message: `battery.targetEndSocPct (${roundPct(targetPct)} %) not reached, plan ends at ${roundPct(endPct)} %: ${why}`,
    })
  }

  n.flexibleLoads.forEach((load, f) => {
    const unmet = value(x, c.flexibleUnmet[f]!)
    if (unmet <= GOAL_TOLERANCE) return
    const scheduled = Math.round(load.requiredSlots - unmet)
    const reasons: string[] = []
    if (load.windowSlots.length < load.requiredSlots) reasons.push(`its window holds only ${load.windowSlots.length} slot(s)`)
    if (scheduled < Math.min(load.windowSlots.length, load.requiredSlots)) {
      reasons.push(
        input.grid.maxImportPowerW !== undefined
          ? 'running it more would exceed grid.maxImportPowerW, which weighs more (penalties.gridLimitEurPerKWh)'
          : 'running it more costs more than penalties.flexibleLoadUnmetEurPerKWh',
      )
    }
    const why = reasons.join('; ')
    goals.push({
      goal: 'flexible-load-run-time',
      id: load.id,
      message: `flexibleLoads '${load.id}': ${scheduled} of ${load.requiredSlots} required slots scheduled: ${why}`,
    })
  })
  return goals
}
