/** A time-of-use tariff: import price by local hour, one export price. */
export type Tariff = {
  timezone: string
  /** [fromHour, toHour) local, price EUR/kWh; hours not covered use `defaultImportEurPerKWh`. */
  importBands: { fromHour: number; toHour: number; priceEurPerKWh: number }[]
  defaultImportEurPerKWh: number
  exportEurPerKWh: number
}

/** The default for backtests: off-peak nights, a shoulder by day, an evening peak (typical of Australian retail TOU). */
export function defaultTariff(timezone: string): Tariff {
  return {
    timezone,
    importBands: [
      { fromHour: 0, toHour: 7, priceEurPerKWh: 0.15 },
      { fromHour: 15, toHour: 21, priceEurPerKWh: 0.38 },
      { fromHour: 23, toHour: 24, priceEurPerKWh: 0.15 },
    ],
    defaultImportEurPerKWh: 0.25,
    exportEurPerKWh: 0.05,
  }
}

const hourFormat = new Map<string, Intl.DateTimeFormat>()

export function importPriceAt(tariff: Tariff, utcMs: number): number {
  let f = hourFormat.get(tariff.timezone)
  if (!f) hourFormat.set(tariff.timezone, (f = new Intl.DateTimeFormat('en-US', { timeZone: tariff.timezone, hour: 'numeric', hourCycle: 'h23' })))
  const hour = Number(f.format(utcMs))
  return tariff.importBands.find((b) => hour >= b.fromHour && hour < b.toHour)?.priceEurPerKWh ?? tariff.defaultImportEurPerKWh
}
