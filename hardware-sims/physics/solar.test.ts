import { describe, expect, it } from 'vitest'
import { planeOfArrayIrradiance, sunPosition } from './solar.ts'

describe('sunPosition', () => {
  it('puts the Melbourne summer sun at its noon height, due north, at solar noon', () => {
    // 2013-01-15: declination -21.2 deg, equation of time -9.3 min; longitude 144.96 E
    // => solar noon at 02:29 UTC with zenith |lat - decl| = 16.6 deg (NOAA solar calculator).
    let best = { t: 0, zenith: 180, azimuth: 0 }
    for (let t = Date.parse('2013-01-15T00:00:00Z'); t < Date.parse('2013-01-15T05:00:00Z'); t += 60_000) {
      const s = sunPosition(t, -37.81, 144.96)
      if (s.zenithDeg < best.zenith) best = { t, zenith: s.zenithDeg, azimuth: s.azimuthDeg }
    }
    expect(Math.abs(best.t - Date.parse('2013-01-15T02:29:00Z'))).toBeLessThanOrEqual(3 * 60_000)
    expect(best.zenith).toBeCloseTo(16.6, 0)
    expect(Math.min(best.azimuth, 360 - best.azimuth)).toBeLessThan(3)
  })

  it('has the sun rise in the east and set in the west, below the horizon at midnight', () => {
    // Berlin at the June solstice: rises in the north-east (~50 deg), sets in the north-west (~310 deg).
    const rise = sunPosition(Date.parse('2013-06-21T02:45:00Z'), 52.5, 13.4)
    expect(rise.zenithDeg).toBeGreaterThan(88)
    expect(rise.zenithDeg).toBeLessThan(92)
    expect(rise.azimuthDeg).toBeGreaterThan(40)
    expect(rise.azimuthDeg).toBeLessThan(60)
    const set = sunPosition(Date.parse('2013-06-21T19:33:00Z'), 52.5, 13.4)
    expect(set.zenithDeg).toBeGreaterThan(88)
    expect(set.azimuthDeg).toBeGreaterThan(300)
    expect(set.azimuthDeg).toBeLessThan(320)
    expect(sunPosition(Date.parse('2013-06-21T22:30:00Z'), 52.5, 13.4).zenithDeg).toBeGreaterThan(90)
  })
})

describe('planeOfArrayIrradiance', () => {
  const noon = sunPosition(Date.parse('2013-01-15T02:29:00Z'), -37.81, 144.96)
  it('gives about 1000 W/m2 on a well-oriented panel under a clear summer sky', () => {
    const poa = planeOfArrayIrradiance({ sun: noon, tiltDeg: 20, azimuthDeg: 0, clearness: 1 })
    expect(poa).toBeGreaterThan(900)
    expect(poa).toBeLessThan(1150)
  })
  it('falls with clouds, with a panel facing away from the sun, and at night', () => {
    const clear = planeOfArrayIrradiance({ sun: noon, tiltDeg: 30, azimuthDeg: 0, clearness: 1 })
    expect(planeOfArrayIrradiance({ sun: noon, tiltDeg: 30, azimuthDeg: 0, clearness: 0.3 })).toBeLessThan(clear * 0.5)
    expect(planeOfArrayIrradiance({ sun: noon, tiltDeg: 60, azimuthDeg: 180, clearness: 1 })).toBeLessThan(clear * 0.6)
    expect(planeOfArrayIrradiance({ sun: { zenithDeg: 100, azimuthDeg: 0 }, tiltDeg: 30, azimuthDeg: 0, clearness: 1 })).toBe(0)
  })
})
