import { z } from 'zod'
import type { SettingsStore } from '../store/createSettingsStore.ts'
import type { PlanTarget } from './decideSetpoints.ts'

/** The operating mode in force: since when and who chose it (`system` when manual expired). */
export type OperatingMode = ({ mode: 'auto' } | { mode: 'self-consumption' } | { mode: 'manual'; setpointW: number; expiresAtMs: number }) & { sinceMs: number; by: string }
/** A change of mode as the setMode command carries it (validated there): manual has both fields. */
export type OperatingModeChange = { mode: OperatingMode['mode']; setpointW?: number | undefined; expiresInMs?: number | undefined }

export type CreateOperatingModeOptions = {
  /** Where the mode is kept across restarts (the store's settings, key `mode`). */
  settings: Pick<SettingsStore, 'get' | 'put'>
  /** The site's clock: a manual mode expires on it (a time-warped demo expires warped). */
  now: () => number
  onChange?: (mode: OperatingMode) => void
  log?: (message: string) => void
}

/**
 * What the loop does instead of following the plan: undefined follows it; a target
 * replaces the plan's slot (manual setpoint; still clamped to the safety envelope by
 * decideSetpoints); a null target runs self-consumption on purpose, so the loop raises no
 * 'plan:none' alarm.
 */
export type PlanOverride = { target: PlanTarget; reason: string } | undefined

const storedSchema = z.discriminatedUnion('mode', [
  z.strictObject({ mode: z.literal('auto'), sinceMs: z.number(), by: z.string() }),
  z.strictObject({ mode: z.literal('self-consumption'), sinceMs: z.number(), by: z.string() }),
  z.strictObject({ mode: z.literal('manual'), setpointW: z.number(), expiresAtMs: z.number(), sinceMs: z.number(), by: z.string() }),
])
const key = 'mode'
// Who switches an expired manual mode back to auto.
const system = 'system'

/**
 * The operating mode (auto = the plan, self-consumption, or manual with a battery setpoint
 * until it expires), kept in the store so it survives a restart; an expired manual mode
 * returns to auto by itself, also when it expired while the service was down.
 */
export function createOperatingMode(options: CreateOperatingModeOptions) {
  const log = options.log ?? (() => {})
  let mode: OperatingMode = { mode: 'auto', sinceMs: options.now(), by: system }
  const stored = options.settings.get(key)
  if (stored) {
    const parsed = storedSchema.safeParse(stored.value)
    if (parsed.success) mode = parsed.data
    else log(`operating mode: the stored mode is not one this version knows (${JSON.stringify(stored.value)}); running auto`)
  }

  function save(next: OperatingMode) {
    // Stored before it applies: a mode the store refused is not in force either.
    options.settings.put(key, next, next.by, next.sinceMs)
    mode = next
    options.onChange?.(mode)
    return mode
  }

  function current(nowMs = options.now()): OperatingMode {
    if (mode.mode === 'manual' && nowMs >= mode.expiresAtMs) {
      log(`operating mode: manual ${mode.setpointW} W (set by ${mode.by}) expired; back to auto`)
      return save({ mode: 'auto', sinceMs: nowMs, by: system })
    }
    return mode
  }

  return {
    current,
    /** Applies a validated setMode command for `by`. */
    set(command: OperatingModeChange, by: string): OperatingMode {
      const nowMs = options.now()
      if (command.mode === 'manual') return save({ mode: 'manual', setpointW: command.setpointW!, expiresAtMs: nowMs + command.expiresInMs!, sinceMs: nowMs, by })
      return save({ mode: command.mode, sinceMs: nowMs, by })
    },
    /** For the control loop, every cycle. */
    planOverride(nowMs: number): PlanOverride {
      const m = current(nowMs)
      if (m.mode === 'self-consumption') return { target: null, reason: `self-consumption (set by ${m.by})` }
      if (m.mode === 'manual') return { target: { batteryPowerW: m.setpointW, slotStartMs: m.sinceMs }, reason: `manual ${m.setpointW} W until ${new Date(m.expiresAtMs).toISOString()} (set by ${m.by})` }
      return undefined
    },
  }
}

export type OperatingModeControl = ReturnType<typeof createOperatingMode>
