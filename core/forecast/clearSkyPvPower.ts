import { solarPosition } from './solarPosition.ts'

const rad = Math.PI / 180

/** A PV array: site, orientation (tilt from horizontal; azimuth clockwise from north, 180 = facing south) and DC peak power. */
export type PvSite = { latitudeDeg: number; longitudeDeg: number; tiltDeg: number; azimuthDeg: number; peakPowerKw: number }

/** Losses between plane-of-array irradiance and AC power on a clear day (temperature, inverter, wiring). */
const performanceRatio = 0.85
const albedo = 0.2

/** Clear-sky AC power of an array at one instant, and the clear-sky irradiances it comes from: Haurwitz global, Meinel beam, isotropic-sky transposition. */
export function clearSkyPvPower(site: PvSite, utcMs: number): { powerKw: number; planeOfArrayWPerM2: number; globalWPerM2: number } {
  const sun = solarPosition(utcMs, site.latitudeDeg, site.longitudeDeg)
  if (sun.cosZenith <= 0.01) return { powerKw: 0, planeOfArrayWPerM2: 0, globalWPerM2: 0 }
  const cosZ = sun.cosZenith
  const global = 1098 * cosZ * Math.exp(-0.059 / cosZ)
  const extraterrestrial = 1367 * (1 + 0.033 * Math.cos((2 * Math.PI * sun.dayOfYear) / 365))
  // Kasten-Young air mass.
  const airMass = 1 / (cosZ + 0.50572 * Math.pow(96.07995 - sun.zenithDeg, -1.6364))
  const beamNormal = Math.min(extraterrestrial * Math.pow(0.7, Math.pow(airMass, 0.678)), global / cosZ)
  const diffuse = Math.max(0, global - beamNormal * cosZ)
  const tilt = site.tiltDeg * rad
  const cosIncidence = cosZ * Math.cos(tilt) + Math.sin(sun.zenithDeg * rad) * Math.sin(tilt) * Math.cos((sun.azimuthDeg - site.azimuthDeg) * rad)
  const planeOfArray = beamNormal * Math.max(0, cosIncidence) + (diffuse * (1 + Math.cos(tilt))) / 2 + (global * albedo * (1 - Math.cos(tilt))) / 2
  return { powerKw: Math.min(site.peakPowerKw, (site.peakPowerKw * planeOfArray * performanceRatio) / 1000), planeOfArrayWPerM2: planeOfArray, globalWPerM2: global }
}
