const dash = '—'

/** A power with its unit: W below 1 kW, kW (2 decimals below 10 kW, 1 above) up to 1 MW, then MW; "—" for no value. */
export function formatPower(w: number | null | undefined, signed = false): string {
  if (w == null || !Number.isFinite(w)) return dash
  const sign = signed && w > 0 ? '+' : w < 0 ? '−' : ''
  const a = Math.abs(w)
  if (a < 999.5) return `${sign}${Math.round(a)} W`
  if (a < 9_995) return `${sign}${(a / 1000).toFixed(2)} kW`
  if (a < 999_950) return `${sign}${(a / 1000).toFixed(1)} kW`
  return `${sign}${(a / 1e6).toFixed(2)} MW`
}
