// Sun position and clear-sky irradiance on a tilted plane. Accuracy of a few tenths of a
// degree (NOAA's low-precision equations) is ample for simulated PV output.
const rad = Math.PI / 180

export type SunPosition = { zenithDeg: number; azimuthDeg: number }

/** Sun zenith and azimuth (degrees clockwise from north) at a UTC time and place. */
export function sunPosition(timeMs: number, latitudeDeg: number, longitudeDeg: number): SunPosition {
  const days = timeMs / 86_400_000 - 10_957.5 // days since J2000.0 (2000-01-01T12:00Z)
  const meanLongitude = (280.46 + 0.9856474 * days) % 360
  const meanAnomaly = (357.528 + 0.9856003 * days) * rad
  const eclipticLongitude = (meanLongitude + 1.915 * Math.sin(meanAnomaly) + 0.02 * Math.sin(2 * meanAnomaly)) * rad
  const obliquity = (23.439 - 0.0000004 * days) * rad
  const declination = Math.asin(Math.sin(obliquity) * Math.sin(eclipticLongitude))
  const rightAscension = Math.atan2(Math.cos(obliquity) * Math.sin(eclipticLongitude), Math.cos(eclipticLongitude))
  const siderealDeg = (280.46061837 + 360.98564736629 * days + longitudeDeg) % 360
  const hourAngle = siderealDeg * rad - rightAscension
  const lat = latitudeDeg * rad
  const cosZenith = Math.sin(lat) * Math.sin(declination) + Math.cos(lat) * Math.cos(declination) * Math.cos(hourAngle)
  const zenith = Math.acos(Math.min(1, Math.max(-1, cosZenith)))
  const azimuth = Math.atan2(-Math.sin(hourAngle), Math.tan(declination) * Math.cos(lat) - Math.sin(lat) * Math.cos(hourAngle))
  return { zenithDeg: zenith / rad, azimuthDeg: ((azimuth / rad) % 360 + 360) % 360 }
}

export type PlaneOfArrayParameters = {
  sun: SunPosition
  tiltDeg: number
  azimuthDeg: number
  /** Clearness 0..1: 1 is a clear sky; lower values dim the beam and raise the diffuse share. */
  clearness: number
  albedo?: number
}

/** Clear-sky global horizontal irradiance in W/m² (Haurwitz), the sky the clearness scales. */
export function clearSkyGhi(sun: SunPosition): number {
  const cosZenith = Math.cos(sun.zenithDeg * rad)
  return cosZenith <= 0.01 ? 0 : 1098 * cosZenith * Math.exp(-0.057 / cosZenith)
}

/** Irradiance on the panel plane in W/m², from the Haurwitz clear-sky model and an isotropic sky. */
export function planeOfArrayIrradiance({ sun, tiltDeg, azimuthDeg, clearness, albedo = 0.2 }: PlaneOfArrayParameters): number {
  const cosZenith = Math.cos(sun.zenithDeg * rad)
  if (cosZenith <= 0.01) return 0
  const ghi = clearSkyGhi(sun) * clearness
  const diffuseShare = Math.min(1, 0.12 + 0.88 * (1 - clearness) ** 1.5)
  const dhi = ghi * diffuseShare
  const dni = (ghi - dhi) / cosZenith
  const tilt = tiltDeg * rad
  const cosIncidence =
    cosZenith * Math.cos(tilt) + Math.sin(sun.zenithDeg * rad) * Math.sin(tilt) * Math.cos((sun.azimuthDeg - azimuthDeg) * rad)
  const beam = dni * Math.max(0, cosIncidence)
  const sky = (dhi * (1 + Math.cos(tilt))) / 2
  const ground = (ghi * albedo * (1 - Math.cos(tilt))) / 2
  return beam + sky + ground
}
