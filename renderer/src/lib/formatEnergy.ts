/** An energy with its unit: Wh below 1 kWh, kWh below 1 MWh, then MWh; "—" for no value. */
export function formatEnergy(wh: number | null | undefined): string {
  if (wh == null || !Number.isFinite(wh)) return '—'
  const sign = wh < 0 ? '−' : ''
  const a = Math.abs(wh)
  if (a < 999.5) return `${sign}${Math.round(a)} Wh`
  if (a < 999_950) return `${sign}${(a / 1000).toFixed(a < 9_995 ? 2 : 1)} kWh`
  return `${sign}${(a / 1e6).toFixed(2)} MWh`
}
