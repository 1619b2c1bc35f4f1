import type { BatteryConfig, InverterConfig, SiteConfig } from '../site/siteSchema.ts'
import { cloudClearness } from './clouds.ts'
import type { LoadShape } from './loadVicElecShape.ts'
import { planeOfArrayIrradiance, sunPosition } from './solar.ts'
import { zoneOffsetMs } from './zoneOffset.ts'

/** A setpoint in force until `expiresAtMs` (simulated time); then the device reverts. */
export type TimedSetpoint = { value: number; expiresAtMs: number }

export type InverterState = {
  config: InverterConfig
  /** Output cap in % of ratedW from model 123, or null (100 %). */
  limitPct: TimedSetpoint | null
  /** Model 123 Conn: a disconnected inverter produces nothing until reconnected. */
  connected: boolean
  tripped: boolean
  availableW: number
  powerW: number
  energyWh: number
}

export type BatteryState = {
  config: BatteryConfig
  /** Active-power setpoint from model 704 (> 0 discharge), or null: the fallback mode rules. */
  setpointW: TimedSetpoint | null
  /** Rate caps in % of maxChargeW / maxDischargeW from model 124, or null. */
  chargeLimitPct: TimedSetpoint | null
  dischargeLimitPct: TimedSetpoint | null
  /** Model 802 SetOp: a disconnected battery bank carries no power. */
  connected: boolean
  tripped: boolean
  storedWh: number
  powerW: number
  chargedWh: number
  dischargedWh: number
  /** Energy that entered/left the cells (after/before the efficiencies). */
  cellInWh: number
  cellOutWh: number
}

export type Energies = { loadWh: number; pvWh: number; gridImportWh: number; gridExportWh: number }

export type SitePhysics = {
  timeMs: number
  loadW: number
  gridW: number
  clearness: number
  inverters: InverterState[]
  batteries: BatteryState[]
  energy: Energies
  /** Events such as reverts since the last drain (for logs and the API). */
  events: string[]
}

/** Longest integration step; longer advances are cut into steps this long. */
export const maxStepMs = 1_000

export function socPctOf(battery: BatteryState): number {
  return (battery.storedWh / battery.config.capacityWh) * 100
}

export function createSitePhysics(site: SiteConfig, startMs: number): SitePhysics {
  return {
    timeMs: startMs,
    loadW: 0,
    gridW: 0,
    clearness: 1,
    inverters: site.devices
      .filter((d): d is InverterConfig => d.kind === 'inverter')
      .map((config) => ({ config, limitPct: null, connected: true, tripped: false, availableW: 0, powerW: 0, energyWh: 0 })),
    batteries: site.devices
      .filter((d): d is BatteryConfig => d.kind === 'battery')
      .map((config) => ({
        config, setpointW: null, chargeLimitPct: null, dischargeLimitPct: null, connected: true, tripped: false,
        storedWh: (config.initialSocPct / 100) * config.capacityWh, powerW: 0, chargedWh: 0, dischargedWh: 0, cellInWh: 0, cellOutWh: 0,
      })),
    energy: { loadWh: 0, pvWh: 0, gridImportWh: 0, gridExportWh: 0 },
    events: [],
  }
}

/** What an inverter's array can deliver at a plane-of-array irradiance: 14 % DC losses (temperature, soiling, wiring), 97 % conversion, clipped at the AC rating. */
export function inverterAvailableW(config: InverterConfig, planeOfArrayWPerM2: number): number {
  return Math.min(config.ratedW, config.ratedW * config.dcAcRatio * (planeOfArrayWPerM2 / 1000) * 0.86 * 0.97)
}

function expire<T extends { expiresAtMs: number }>(setpoint: T | null, nowMs: number, onExpire: () => void): T | null {
  if (setpoint && setpoint.expiresAtMs <= nowMs) {
    onExpire()
    return null
  }
  return setpoint
}

/**
 * Advances the physics by `durationMs` of simulated time in steps of at most maxStepMs.
 * Each step holds its powers constant, so the energy counters balance exactly:
 * load = pv + battery + grid (grid > 0 import, battery > 0 discharge).
 */
export function advanceSitePhysics(physics: SitePhysics, site: SiteConfig, shape: LoadShape, seed: number, durationMs: number): void {
  let remaining = durationMs
  while (remaining > 0) {
    const stepMs = Math.min(maxStepMs, remaining)
    remaining -= stepMs
    step(physics, site, shape, seed, stepMs)
  }
}

function step(physics: SitePhysics, site: SiteConfig, shape: LoadShape, seed: number, stepMs: number): void {
  const t = physics.timeMs + stepMs
  physics.timeMs = t
  const hours = stepMs / 3_600_000
  const { latitudeDeg, longitudeDeg, timezone } = site.location

  physics.loadW = shape.at(t + zoneOffsetMs(t, timezone)) * site.load.peakW
  const sun = sunPosition(t, latitudeDeg, longitudeDeg)
  physics.clearness = cloudClearness(t, seed)

  let pvW = 0
  for (const inv of physics.inverters) {
    inv.limitPct = expire(inv.limitPct, t, () => physics.events.push(`${inv.config.name}: power limit not refreshed; reverted to 100 %`))
    const poa = planeOfArrayIrradiance({ sun, tiltDeg: inv.config.tiltDeg, azimuthDeg: inv.config.azimuthDeg, clearness: physics.clearness })
    inv.availableW = inv.tripped || !inv.connected ? 0 : inverterAvailableW(inv.config, poa)
    const capW = inv.limitPct ? (inv.config.ratedW * inv.limitPct.value) / 100 : inv.config.ratedW
    inv.powerW = Math.max(0, Math.min(inv.availableW, capW))
    inv.energyWh += inv.powerW * hours
    pvW += inv.powerW
  }

  let netW = physics.loadW - pvW
  const share = physics.batteries.length
  for (const bat of physics.batteries) {
    const c = bat.config
    bat.setpointW = expire(bat.setpointW, t, () => physics.events.push(`${c.name}: setpoint not refreshed; reverted to ${c.fallback}`))
    bat.chargeLimitPct = expire(bat.chargeLimitPct, t, () => physics.events.push(`${c.name}: charge rate limit expired`))
    bat.dischargeLimitPct = expire(bat.dischargeLimitPct, t, () => physics.events.push(`${c.name}: discharge rate limit expired`))
    let requestW = bat.setpointW ? bat.setpointW.value : c.fallback === 'self-consumption' ? netW / share : 0
    if (bat.tripped || !bat.connected) requestW = 0
    const maxChargeW = (c.maxChargeW * (bat.chargeLimitPct?.value ?? 100)) / 100
    const maxDischargeW = (c.maxDischargeW * (bat.dischargeLimitPct?.value ?? 100)) / 100
    const minWh = (c.socMinPct / 100) * c.capacityWh
    const maxWh = (c.socMaxPct / 100) * c.capacityWh
    let powerW = Math.min(maxDischargeW, Math.max(-maxChargeW, requestW))
    if (powerW > 0) powerW = Math.min(powerW, (Math.max(0, bat.storedWh - minWh) * c.dischargeEfficiency) / hours)
    else if (powerW < 0) powerW = Math.max(powerW, -Math.max(0, maxWh - bat.storedWh) / c.chargeEfficiency / hours)
    bat.powerW = powerW
    if (powerW > 0) {
      const out = (powerW * hours) / c.dischargeEfficiency
      bat.storedWh -= out
      bat.cellOutWh += out
      bat.dischargedWh += powerW * hours
    } else if (powerW < 0) {
      const into = -powerW * hours * c.chargeEfficiency
      bat.storedWh += into
      bat.cellInWh += into
      bat.chargedWh += -powerW * hours
    }
    netW -= powerW
  }

  physics.gridW = netW
  physics.energy.loadWh += physics.loadW * hours
  physics.energy.pvWh += pvW * hours
  if (netW > 0) physics.energy.gridImportWh += netW * hours
  else physics.energy.gridExportWh += -netW * hours
}
