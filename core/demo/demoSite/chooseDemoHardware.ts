/** What one demo site has behind its meter: the variations of hardware-sims/sites/demo.yaml. */
export type DemoHardware = {
  pvRatedW: number
  batteryCapacityWh: number
  /** charge and discharge rating */
  batteryMaxW: number
  initialSocPct: number
  loadPeakW: number
}

// Four households of one street: the same weather, different roofs, batteries and loads, so
// at midday some have surplus while others lack energy.
const households: DemoHardware[] = [
  // big roof, small full battery, small load: exports most of the day
  { pvRatedW: 10_000, batteryCapacityWh: 5_000, batteryMaxW: 2_500, initialSocPct: 90, loadPeakW: 3_000 },
  // small roof, big empty battery, big load: imports
  { pvRatedW: 3_000, batteryCapacityWh: 13_500, batteryMaxW: 5_000, initialSocPct: 15, loadPeakW: 9_000 },
  // medium roof and load, half-full battery
  { pvRatedW: 7_000, batteryCapacityWh: 10_000, batteryMaxW: 4_000, initialSocPct: 60, loadPeakW: 5_000 },
  // no surplus to speak of: small roof, small battery, medium load
  { pvRatedW: 2_000, batteryCapacityWh: 5_000, batteryMaxW: 2_500, initialSocPct: 30, loadPeakW: 6_000 },
]

/** The hardware of demo site `siteId`: four households, the next four a little bigger. */
export function chooseDemoHardware(siteId: number): DemoHardware {
  const base = households[siteId % households.length]!
  const scale = 1 + 0.2 * Math.floor(siteId / households.length)
  return { ...base, pvRatedW: Math.round(base.pvRatedW * scale), loadPeakW: Math.round(base.loadPeakW * scale) }
}
