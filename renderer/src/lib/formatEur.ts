/** Money in EUR with its unit; prices per kWh keep 3 decimals (tenths of a cent matter there). */
export function formatEur(eur: number | null | undefined, perKWh = false): string {
  if (eur == null || !Number.isFinite(eur)) return '—'
  const sign = eur < 0 ? '−' : ''
  return perKWh ? `${sign}${Math.abs(eur).toFixed(3)} EUR/kWh` : `${sign}${Math.abs(eur).toFixed(2)} EUR`
}
