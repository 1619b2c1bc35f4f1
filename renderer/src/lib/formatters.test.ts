import { describe, expect, it } from 'vitest'
import { formatAge } from './formatAge.ts'
import { formatEnergy } from './formatEnergy.ts'
import { formatEur } from './formatEur.ts'
import { formatPercent } from './formatPercent.ts'
import { formatPower } from './formatPower.ts'
import { formatSiteTime } from './formatSiteTime.ts'
import { pointUnit } from './pointUnit.ts'

describe('unit formatters', () => {
  it('power switches W -> kW -> MW at the rounding edge, keeps the sign and says "—" for no value', () => {
    expect(formatPower(0)).toBe('0 W')
    expect(formatPower(999.4)).toBe('999 W')
    expect(formatPower(999.6)).toBe('1.00 kW')
    expect(formatPower(-2345)).toBe('−2.35 kW')
    expect(formatPower(12_345)).toBe('12.3 kW')
    expect(formatPower(2_500_000)).toBe('2.50 MW')
    expect(formatPower(1500, true)).toBe('+1.50 kW')
    expect(formatPower(null)).toBe('—')
    expect(formatPower(Number.NaN)).toBe('—')
  })
  it('energy in Wh, kWh, MWh', () => {
    expect(formatEnergy(12)).toBe('12 Wh')
    expect(formatEnergy(1234)).toBe('1.23 kWh')
    expect(formatEnergy(123_456)).toBe('123.5 kWh')
    expect(formatEnergy(-2_000_000)).toBe('−2.00 MWh')
    expect(formatEnergy(undefined)).toBe('—')
  })
  it('percent, EUR and EUR/kWh carry their units', () => {
    expect(formatPercent(5.25)).toBe('5.3 %')
    expect(formatPercent(54.4)).toBe('54 %')
    expect(formatEur(1.005)).toMatch(/^1\.0\d EUR$/)
    expect(formatEur(-3.2)).toBe('−3.20 EUR')
    expect(formatEur(0.2514, true)).toBe('0.251 EUR/kWh')
  })
  it('ages read like a person says them', () => {
    expect(formatAge(400)).toBe('now')
    expect(formatAge(12_500)).toBe('12 s')
    expect(formatAge(4 * 60_000 + 5000)).toBe('4 min')
    expect(formatAge(2 * 3_600_000 + 5 * 60_000)).toBe('2 h 5 min')
    expect(formatAge(3 * 3_600_000)).toBe('3 h')
    expect(formatAge(3 * 86_400_000)).toBe('3 d')
    expect(formatAge(-50)).toBe('now')
    expect(formatAge(null)).toBe('never')
  })
  it('times are the site zone, not the browser zone, across a DST change', () => {
    // 2026-04-05 03:00 AEDT becomes 02:00 AEST in Melbourne; 15:59:59 UTC on 4 April is 02:59:59 AEDT.
    const before = Date.UTC(2026, 3, 4, 15, 59, 59)
    expect(formatSiteTime(before, 'Australia/Melbourne', 'yyyy-MM-dd HH:mm:ss')).toBe('2026-04-05 02:59:59')
    expect(formatSiteTime(before + 1000, 'Australia/Melbourne', 'yyyy-MM-dd HH:mm:ss')).toBe('2026-04-05 02:00:00')
    expect(formatSiteTime(Date.UTC(2026, 0, 1, 12), 'Europe/Berlin', 'HH:mm')).toBe('13:00')
    expect(formatSiteTime(Date.UTC(2026, 0, 1, 12), 'UTC', 'HH:mm')).toBe('12:00')
    expect(formatSiteTime(null, 'UTC')).toBe('—')
  })
  it('a stored point names its unit', () => {
    expect(pointUnit('powerW')).toBe('W')
    expect(pointUnit('socPct')).toBe('%')
    expect(pointUnit('energyWh')).toBe('Wh')
    expect(pointUnit('importEurPerKWh')).toBe('EUR/kWh')
    expect(pointUnit('voltageV')).toBe('V')
    expect(pointUnit('status')).toBe('')
  })
})
