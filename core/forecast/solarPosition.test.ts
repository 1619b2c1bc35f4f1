import { describe, expect, it } from 'vitest'
import { solarPosition } from './solarPosition.ts'

describe('solarPosition', () => {
  it('puts the sun near the zenith at noon on the equator at the March equinox', () => {
    const sun = solarPosition(Date.parse('2024-03-20T12:07:00Z'), 0, 0)
    expect(sun.zenithDeg).toBeLessThan(1)
  })

  it('gives the solstice noon elevation 90 - latitude + 23.44 deg in Berlin, due south', () => {
    // Solar noon in Berlin (13.4 E) on 21 June is about 11:08 UTC.
    const sun = solarPosition(Date.parse('2024-06-21T11:08:00Z'), 52.5, 13.4)
    expect(90 - sun.zenithDeg).toBeCloseTo(90 - 52.5 + 23.44, 0)
    expect(Math.abs(sun.azimuthDeg - 180)).toBeLessThan(2)
  })

  it('has the sun in the east in the morning, the west in the afternoon, and below the horizon at night', () => {
    expect(solarPosition(Date.parse('2024-06-21T06:00:00Z'), 52.5, 13.4).azimuthDeg).toBeLessThan(120)
    expect(solarPosition(Date.parse('2024-06-21T16:00:00Z'), 52.5, 13.4).azimuthDeg).toBeGreaterThan(240)
    expect(solarPosition(Date.parse('2024-06-21T23:00:00Z'), 52.5, 13.4).cosZenith).toBeLessThan(0)
  })

  it('puts the noon sun to the north in the southern hemisphere', () => {
    // Melbourne (145 E) solar noon is near 02:20 UTC.
    const sun = solarPosition(Date.parse('2024-01-15T02:20:00Z'), -37.8, 145)
    expect(Math.min(sun.azimuthDeg, 360 - sun.azimuthDeg)).toBeLessThan(15)
  })
})
