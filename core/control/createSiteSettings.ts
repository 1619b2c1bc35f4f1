import { z } from 'zod'
import type { SettingsStore } from '../store/createSettingsStore.ts'
import { gridLimitsSchema, tariffSettingsSchema, type GridLimits, type SiteSettings, type TariffSettings } from './siteSettingsSchema.ts'
import type { SiteLimits } from './decideSetpoints.ts'
import type { Tariff } from './timeOfUseTariff.ts'

export type CreateSiteSettingsOptions = {
  /** The site file's values: in force until an operator changes them. */
  defaults: { grid: GridLimits; tariff: TariffSettings }
  /** The tariff's hours are local to the site. */
  timeZone: string
  /** Where changes are kept across restarts (the store's settings, key `site`). */
  settings: Pick<SettingsStore, 'get' | 'put'>
  now: () => number
  onChange?: (settings: SiteSettings) => void
  log?: (message: string) => void
}

const storedSchema = z.strictObject({ grid: gridLimitsSchema, tariff: tariffSettingsSchema })
const key = 'site'

/**
 * Grid limits and tariff changed at run time: validated by the contract's schemas at the
 * API's edge, stored before they apply, and read live (the loop asks for the limits every
 * cycle, the planner for the tariff at every plan).
 */
export function createSiteSettings(options: CreateSiteSettingsOptions) {
  const log = options.log ?? (() => {})
  let current: SiteSettings = { ...options.defaults, updatedAtMs: null, updatedBy: null }
  const stored = options.settings.get(key)
  if (stored) {
    const parsed = storedSchema.safeParse(stored.value)
    if (parsed.success) current = { ...parsed.data, updatedAtMs: stored.updatedAtMs, updatedBy: stored.updatedBy }
    else log(`settings: the stored settings are not valid (${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}); using the site file's`)
  }
  return {
    current: () => current,
    /** Applies a validated updateSettings command for `by`: grid limits field by field, the tariff whole. */
    update(command: { grid?: Partial<GridLimits> | undefined; tariff?: TariffSettings | undefined }, by: string): SiteSettings {
      const next = storedSchema.parse({ grid: { ...current.grid, ...command.grid }, tariff: command.tariff ?? current.tariff })
      const nowMs = options.now()
      options.settings.put(key, next, by, nowMs)
      current = { ...next, updatedAtMs: nowMs, updatedBy: by }
      options.onChange?.(current)
      return current
    },
    gridLimits: (): SiteLimits => current.grid,
    tariff: (): Tariff => ({ timezone: options.timeZone, ...current.tariff }),
  }
}

export type SiteSettingsControl = ReturnType<typeof createSiteSettings>
