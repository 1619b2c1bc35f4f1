const rad = Math.PI / 180

export type SolarPosition = { zenithDeg: number; azimuthDeg: number; cosZenith: number; dayOfYear: number }

/** Sun position for a UTC instant and site (NOAA general solar position equations; about 0.5 deg accurate): azimuth clockwise from north. */
export function solarPosition(utcMs: number, latitudeDeg: number, longitudeDeg: number): SolarPosition {
  const date = new Date(utcMs)
  const yearStart = Date.UTC(date.getUTCFullYear(), 0, 1)
  const dayOfYear = Math.floor((utcMs - yearStart) / 86_400_000) + 1
  const hours = date.getUTCHours() + date.getUTCMinutes() / 60 + date.getUTCSeconds() / 3600
  const daysInYear = (Date.UTC(date.getUTCFullYear() + 1, 0, 1) - yearStart) / 86_400_000
  const gamma = ((2 * Math.PI) / daysInYear) * (dayOfYear - 1 + (hours - 12) / 24)
  const equationOfTimeMin =
    229.18 * (0.000075 + 0.001868 * Math.cos(gamma) - 0.032077 * Math.sin(gamma) - 0.014615 * Math.cos(2 * gamma) - 0.040849 * Math.sin(2 * gamma))
  const declination =
    0.006918 -
    0.399912 * Math.cos(gamma) +
    0.070257 * Math.sin(gamma) -
    0.006758 * Math.cos(2 * gamma) +
    0.000907 * Math.sin(2 * gamma) -
    0.002697 * Math.cos(3 * gamma) +
    0.00148 * Math.sin(3 * gamma)
  const trueSolarTimeMin = hours * 60 + equationOfTimeMin + 4 * longitudeDeg
  const hourAngle = (trueSolarTimeMin / 4 - 180) * rad
  const phi = latitudeDeg * rad
  const cosZenith = Math.min(1, Math.max(-1, Math.sin(phi) * Math.sin(declination) + Math.cos(phi) * Math.cos(declination) * Math.cos(hourAngle)))
  const zenith = Math.acos(cosZenith)
  // Measured from south then turned to compass bearings; atan2 keeps the morning/afternoon side right.
  const azimuth = Math.atan2(Math.sin(hourAngle), Math.cos(hourAngle) * Math.sin(phi) - Math.tan(declination) * Math.cos(phi)) / rad + 180
  return { zenithDeg: zenith / rad, azimuthDeg: ((azimuth % 360) + 360) % 360, cosZenith, dayOfYear }
}
