const suffixes: [RegExp, string][] = [
  [/EurPerKWh$/, 'EUR/kWh'],
  [/Eur$/, 'EUR'],
  [/KWh$/, 'kWh'],
  [/Wh$/, 'Wh'],
  [/Var$/, 'var'],
  [/VA$/, 'VA'],
  [/KW$/, 'kW'],
  [/W$/, 'W'],
  [/Pct$/, '%'],
  [/Hz$/, 'Hz'],
  [/V$/, 'V'],
  [/A$/, 'A'],
  [/DegC$|C$/, '°C'],
  [/Ms$/, 'ms'],
  [/S$/, 's'],
]

/** A stored point's unit from its name (the project names units in names: powerW, socPct, energyWh); '' when the name says none. */
export function pointUnit(point: string): string {
  for (const [re, unit] of suffixes) if (re.test(point)) return unit
  return ''
}
