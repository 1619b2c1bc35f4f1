import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import type { SiteSettings } from './siteSettingsSchema.ts'
import { createStore, type Store } from '../store/createStore.ts'
import { createSiteSettings } from './createSiteSettings.ts'
import { defaultTariff, importPriceAt } from './timeOfUseTariff.ts'

const open: Store[] = []
afterEach(() => {
  for (const s of open.splice(0)) s.close()
})
function newStore(path = join(mkdtempSync(join(tmpdir(), 'gm-settings-')), 'store.db')) {
  const store = createStore({ path })
  open.push(store)
  return store
}
const { timezone: _, ...tariff } = defaultTariff('Europe/Berlin')
const defaults = { grid: { maxImportW: 20_000, maxExportW: null }, tariff }

it("starts from the site file's values; a change applies live, field by field, and survives a restart", () => {
  const store = newStore()
  const events: SiteSettings[] = []
  const settings = createSiteSettings({ defaults, timeZone: 'Europe/Berlin', settings: store.settings, now: () => 42, onChange: (s) => events.push(s) })
  expect(settings.current()).toEqual({ ...defaults, updatedAtMs: null, updatedBy: null })
  settings.update({ grid: { maxExportW: 5000 } }, 'ian')
  expect(settings.gridLimits()).toEqual({ maxImportW: 20_000, maxExportW: 5000 })
  const flat = { importBands: [], defaultImportEurPerKWh: 0.3, exportEurPerKWh: 0.08 }
  settings.update({ tariff: flat }, 'ian')
  expect(importPriceAt(settings.tariff(), Date.UTC(2026, 0, 1, 17))).toBe(0.3)
  expect(settings.tariff().timezone).toBe('Europe/Berlin')
  expect(events).toHaveLength(2)
  const path = store.path
  store.close()
  open.pop()
  const again = createSiteSettings({ defaults, timeZone: 'Europe/Berlin', settings: newStore(path).settings, now: () => 50 })
  expect(again.current()).toEqual({ grid: { maxImportW: 20_000, maxExportW: 5000 }, tariff: flat, updatedAtMs: 42, updatedBy: 'ian' })
})

it('stored settings that are not valid fall back to the site file and say why', () => {
  const store = newStore()
  store.settings.put('site', { grid: { maxImportW: -1, maxExportW: null }, tariff }, 'x', 1)
  const logs: string[] = []
  const settings = createSiteSettings({ defaults, timeZone: 'UTC', settings: store.settings, now: () => 1, log: (m) => logs.push(m) })
  expect(settings.current().grid).toEqual(defaults.grid)
  expect(logs[0]).toMatch(/stored settings are not valid \(grid.maxImportW: .*\); using the site file's/)
})

it('a store that refuses the write leaves the settings in force as they were', () => {
  const settings = createSiteSettings({
    defaults,
    timeZone: 'UTC',
    settings: {
      get: () => null,
      put: () => {
        throw new Error('disk full')
      },
    },
    now: () => 1,
  })
  expect(() => settings.update({ grid: { maxImportW: 1 } }, 'ian')).toThrow('disk full')
  expect(settings.gridLimits()).toEqual(defaults.grid)
})
