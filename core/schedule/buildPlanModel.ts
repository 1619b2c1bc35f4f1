import type { ModelData, VariableType } from 'highs'
import type { NormalizedPlanInput } from './normalizePlanInput.ts'

/** Column indexes of the decision variables; -1 where a variable does not exist. Units: kW, kWh. */
export type PlanModelColumns = {
  charge: number[]
  discharge: number[]
  soc: number[]
  pvUsed: number[]
  retailImport: number[]
  retailExport: number[]
  marketBuy: number[]
  marketSell: number[]
  importOverLimit: number[]
  exportOverLimit: number[]
  /** 1 = the battery may charge in the slot, 0 = it may discharge. */
  batteryDirection: number[]
  /** 1 = the grid connection may import in the slot, 0 = it may export. */
  gridDirection: number[]
  flexibleOn: number[][]
  flexibleUnmet: number[]
  peak: number
  endSocShortfall: number
  /** Per n.loadHeadroom block: how far (stored kWh) the plan falls short of the P90 load's headroom at its worst slot. */
  loadHeadroomShortfall: number[]
}

export type PlanModel = { data: ModelData; columns: PlanModelColumns; integerColumns: number }

/** Which variables are integer; the others get their LP relaxation. */
export type Integrality = { battery: boolean[]; grid: boolean[]; flexibleLoads: boolean }

const INFINITY = Number.POSITIVE_INFINITY
// Breaks ties without changing any real trade-off: prefer using PV over curtailing it
// and, at equal cost, less battery throughput.
const TIE_BREAK_EUR_PER_KWH = 1e-6
const PEAK_SHAVING_WEIGHT_PER_KW = 1000

/**
 * Builds the MILP (minimise) over all slots. Power balance per slot, in kW:
 * pvUsed + discharge - charge + retailImport + marketBuy - retailExport - marketSell - flexible = load,
 * so gridPowerW = 1000 * (retailImport + marketBuy - retailExport - marketSell).
 */
export function buildPlanModel(n: NormalizedPlanInput, integral: Integrality): PlanModel {
  const { input, slotCount, slotHours: h, battery } = n
  const objective = input.objective
  const colCost: number[] = []
  const colLower: number[] = []
  const colUpper: number[] = []
  const integrality: VariableType[] = []
  const rowLower: number[] = []
  const rowUpper: number[] = []
  const starts: number[] = [0]
  const indices: number[] = []
  const values: number[] = []
  let integerColumns = 0

  const addColumn = (lower: number, upper: number, cost: number, integer = false): number => {
    colLower.push(lower)
    colUpper.push(upper)
    colCost.push(cost)
    integrality.push(integer ? 1 : 0)
    if (integer) integerColumns++
    return colCost.length - 1
  }
  const addRow = (lower: number, upper: number, terms: [number, number][]): void => {
    let count = 0
    for (const [column, coefficient] of terms) {
      if (column < 0 || coefficient === 0) continue
      indices.push(column)
      values.push(coefficient)
      count++
    }
    if (count === 0) return
    rowLower.push(lower)
    rowUpper.push(upper)
    starts.push(indices.length)
  }

  // Energy prices seen by the objective (EUR/kWh, or kWh weights for self-consumption).
  const importWeight = (t: number) => (objective === 'self-consumption' ? 1 + 1e-3 * n.importPrice[t]! : n.importPrice[t]!)
  const exportWeight = (t: number) => (objective === 'self-consumption' ? 1e-3 * n.exportPrice[t]! : n.exportPrice[t]!)
  const marketBuyWeight = (price: number) => (objective === 'self-consumption' ? 1 + 1e-3 * price : price)
  const marketSellWeight = (price: number) => (objective === 'self-consumption' ? 1e-3 * price : price)

  const columns: PlanModelColumns = {
    charge: [],
    discharge: [],
    soc: [],
    pvUsed: [],
    retailImport: [],
    retailExport: [],
    marketBuy: [],
    marketSell: [],
    importOverLimit: [],
    exportOverLimit: [],
    batteryDirection: [],
    gridDirection: [],
    flexibleOn: n.flexibleLoads.map(() => []),
    flexibleUnmet: [],
    peak: -1,
    endSocShortfall: -1,
    loadHeadroomShortfall: [],
  }

  const { maxImportPowerW, maxExportPowerW, peakChargeEurPerKW, billingPeakSoFarW } = input.grid
  const maxImportKw = maxImportPowerW === undefined ? undefined : maxImportPowerW / 1000
  const maxExportKw = maxExportPowerW === undefined ? undefined : maxExportPowerW / 1000
  const gridPenalty = input.penalties.gridLimitEurPerKWh * h
  const marketBuyCapKw = input.market.maxBuyPowerW === undefined ? INFINITY : input.market.maxBuyPowerW / 1000
  const marketSellCapKw = input.market.maxSellPowerW === undefined ? INFINITY : input.market.maxSellPowerW / 1000

  const peakWeight =
    objective === 'peak-shaving' ? PEAK_SHAVING_WEIGHT_PER_KW + peakChargeEurPerKW : objective === 'cost' ? peakChargeEurPerKW : 0
  if (peakWeight > 0) columns.peak = addColumn(billingPeakSoFarW / 1000, INFINITY, peakWeight)

  const maxChargeKw = battery?.maxChargeKw ?? 0
  const maxDischargeKw = battery?.maxDischargeKw ?? 0
  const throughputCost = (battery?.degradationEurPerKWh ?? 0) + TIE_BREAK_EUR_PER_KWH
  const allowCurtailment = input.allowPvCurtailment

  const windows = n.flexibleLoads.map((load) => new Set(load.windowSlots))
  for (let t = 0; t < slotCount; t++) {
    const pv = n.pvKw[t]!
    const load = n.loadKw[t]!
    let flexibleMaxKw = 0
    n.flexibleLoads.forEach((load, f) => {
      const inWindow = windows[f]!.has(t)
      columns.flexibleOn[f]!.push(inWindow && load.requiredSlots > 0 ? addColumn(0, 1, 0, integral.flexibleLoads) : -1)
      if (inWindow) flexibleMaxKw += load.powerKw
    })

    const hasBattery = battery !== undefined
    columns.charge.push(hasBattery && maxChargeKw > 0 ? addColumn(0, maxChargeKw, throughputCost * h) : -1)
    columns.discharge.push(hasBattery && maxDischargeKw > 0 ? addColumn(0, maxDischargeKw, throughputCost * h) : -1)
    columns.soc.push(hasBattery ? addColumn(battery.minKWh[t]!, battery.maxKWh[t]!, 0) : -1)
    columns.pvUsed.push(pv > 0 ? addColumn(allowCurtailment ? 0 : pv, pv, -TIE_BREAK_EUR_PER_KWH * h) : -1)
    columns.retailImport.push(addColumn(0, INFINITY, importWeight(t) * h))
    columns.retailExport.push(addColumn(0, INFINITY, -exportWeight(t) * h))
    const buyPrice = n.marketBuyPrice[t]
    const sellPrice = n.marketSellPrice[t]
    columns.marketBuy.push(buyPrice === undefined || marketBuyCapKw === 0 ? -1 : addColumn(0, marketBuyCapKw, marketBuyWeight(buyPrice) * h))
    columns.marketSell.push(
      sellPrice === undefined || marketSellCapKw === 0 ? -1 : addColumn(0, marketSellCapKw, -marketSellWeight(sellPrice) * h),
    )
    columns.importOverLimit.push(maxImportKw === undefined ? -1 : addColumn(0, INFINITY, gridPenalty))
    columns.exportOverLimit.push(maxExportKw === undefined ? -1 : addColumn(0, INFINITY, gridPenalty))

    const ch = columns.charge[t]!
    const dis = columns.discharge[t]!
    const imp = columns.retailImport[t]!
    const exp = columns.retailExport[t]!
    const buy = columns.marketBuy[t]!
    const sell = columns.marketSell[t]!

    // Power balance.
    addRow(load, load, [
      [columns.pvUsed[t]!, 1],
      [dis, 1],
      [ch, -1],
      [imp, 1],
      [buy, 1],
      [exp, -1],
      [sell, -1],
      ...n.flexibleLoads.map((fl, f): [number, number] => [columns.flexibleOn[f]![t]!, -fl.powerKw]),
    ])

    // SoC: soc[t] = soc[t-1] + etaC*h*charge - h/etaD*discharge.
    if (battery) {
      const previous = t === 0 ? -1 : columns.soc[t - 1]!
      const rhs = t === 0 ? battery.initialKWh : 0
      addRow(rhs, rhs, [
        [columns.soc[t]!, 1],
        [previous, -1],
        [ch, -battery.chargeEfficiency * h],
        [dis, h / battery.dischargeEfficiency],
      ])
    }

    // No simultaneous charge and discharge: charge <= Pc*d, discharge <= Pd*(1-d).
    if (ch >= 0 && dis >= 0) {
      const d = addColumn(0, 1, 0, integral.battery[t] === true)
      columns.batteryDirection.push(d)
      addRow(-INFINITY, 0, [
        [ch, 1],
        [d, -maxChargeKw],
      ])
      addRow(-INFINITY, maxDischargeKw, [
        [dis, 1],
        [d, maxDischargeKw],
      ])
    } else columns.batteryDirection.push(-1)

    // No simultaneous import and export at the connection. The big-Ms are the most the
    // balance can ask for: import <= load + flexible + charge, export <= pv + discharge.
    const importM = load + flexibleMaxKw + maxChargeKw
    const exportM = pv + maxDischargeKw
    if (importM > 0 && exportM > 0) {
      const g = addColumn(0, 1, 0, integral.grid[t] === true)
      columns.gridDirection.push(g)
      addRow(-INFINITY, 0, [
        [imp, 1],
        [buy, 1],
        [g, -importM],
      ])
      addRow(-INFINITY, exportM, [
        [exp, 1],
        [sell, 1],
        [g, exportM],
      ])
    } else {
      columns.gridDirection.push(-1)
      if (importM <= 0) addRow(-INFINITY, 0, [[imp, 1], [buy, 1]])
      if (exportM <= 0) addRow(-INFINITY, 0, [[exp, 1], [sell, 1]])
    }

    if (maxImportKw !== undefined) {
      addRow(-INFINITY, maxImportKw, [
        [imp, 1],
        [buy, 1],
        [columns.importOverLimit[t]!, -1],
      ])
    }
    if (maxExportKw !== undefined) {
      addRow(-INFINITY, maxExportKw, [
        [exp, 1],
        [sell, 1],
        [columns.exportOverLimit[t]!, -1],
      ])
    }
    if (columns.peak >= 0) {
      addRow(-INFINITY, 0, [
        [imp, 1],
        [buy, 1],
        [columns.peak, -1],
      ])
    }
  }

  if (battery?.targetEndKWh !== undefined) {
    columns.endSocShortfall = addColumn(0, INFINITY, input.penalties.endSocShortfallEurPerKWh)
    addRow(battery.targetEndKWh, INFINITY, [
      [columns.soc[slotCount - 1]!, 1],
      [columns.endSocShortfall, 1],
    ])
  }

  // Headroom against the P90 load through each peak-price run: the SoC at the end of every
  // slot of the run stays above the minimum by the extra energy the P90 load would have
  // drawn since the run began. Soft: a stored kWh short costs the spread between the peak and
  // the horizon's lowest import price (what storing it would have saved had the P90 come), so
  // headroom is bought where the battery has room, but never displaces the forecast load's own
  // energy (that saves the whole peak price). Only the cost objective weighs prices.
  if (battery && objective === 'cost') {
    for (const block of n.loadHeadroom) {
      const shortfall = addColumn(0, INFINITY, (block.importPriceEurPerKWh - block.lowestImportPriceEurPerKWh) * battery.dischargeEfficiency)
      columns.loadHeadroomShortfall.push(shortfall)
      block.slots.forEach((t, j) => {
        addRow(battery.minKWh[t]! + block.extraKWh[j]!, INFINITY, [
          [columns.soc[t]!, 1],
          [shortfall, 1],
        ])
      })
    }
  }

  n.flexibleLoads.forEach((load, f) => {
    if (load.requiredSlots <= 0) {
      columns.flexibleUnmet.push(-1)
      return
    }
    const unmet = addColumn(0, load.requiredSlots, input.penalties.flexibleLoadUnmetEurPerKWh * load.powerKw * h)
    columns.flexibleUnmet.push(unmet)
    addRow(load.requiredSlots, load.requiredSlots, [
      ...load.windowSlots.map((t): [number, number] => [columns.flexibleOn[f]![t]!, 1]),
      [unmet, 1],
    ])
  })

  const numCols = colCost.length
  const numRows = rowLower.length
  const offset = objective === 'cost' && peakWeight > 0 ? (-peakWeight * billingPeakSoFarW) / 1000 : 0
  const data: ModelData = {
    numCols,
    numRows,
    offset,
    colCost,
    colLower,
    colUpper,
    rowLower,
    rowUpper,
    matrix: { format: 'csr', numRows, numCols, starts, indices, values },
    ...(integerColumns > 0 ? { integrality } : {}),
  }
  return { data, columns, integerColumns }
}
