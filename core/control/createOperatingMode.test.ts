import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { createStore, type Store } from '../store/createStore.ts'
import { createOperatingMode, type OperatingMode } from './createOperatingMode.ts'

const t = 1_000_000
const open: Store[] = []
afterEach(() => {
  for (const s of open.splice(0)) s.close()
})
function newStore(path = join(mkdtempSync(join(tmpdir(), 'gm-mode-')), 'store.db')) {
  const store = createStore({ path })
  open.push(store)
  return store
}

it('starts in auto and follows the plan (no override)', () => {
  const mode = createOperatingMode({ settings: newStore().settings, now: () => t })
  expect(mode.current()).toEqual({ mode: 'auto', sinceMs: t, by: 'system' })
  expect(mode.planOverride(t)).toBeUndefined()
})

it('manual gives the loop a target until it expires, then auto again (with an event)', () => {
  const events: OperatingMode[] = []
  const mode = createOperatingMode({ settings: newStore().settings, now: () => t, onChange: (m) => events.push(m) })
  mode.set({ mode: 'manual', setpointW: -2500, expiresInMs: 60_000 }, 'ann')
  expect(mode.planOverride(t + 59_999)?.target).toEqual({ batteryPowerW: -2500, slotStartMs: t })
  expect(mode.planOverride(t + 60_000)).toBeUndefined()
  expect(events.map((e) => [e.mode, e.by])).toEqual([
    ['manual', 'ann'],
    ['auto', 'system'],
  ])
})

it('self-consumption is a null target on purpose', () => {
  const mode = createOperatingMode({ settings: newStore().settings, now: () => t })
  mode.set({ mode: 'self-consumption' }, 'ann')
  expect(mode.planOverride(t)).toEqual({ target: null, reason: 'self-consumption (set by ann)' })
})

it('survives a restart, and a manual mode that expired while down is auto at start', () => {
  const store = newStore()
  createOperatingMode({ settings: store.settings, now: () => t }).set({ mode: 'manual', setpointW: 1000, expiresInMs: 3_600_000 }, 'ann')
  const path = store.path
  store.close()
  open.pop()
  const again = newStore(path)
  expect(createOperatingMode({ settings: again.settings, now: () => t + 1000 }).current()).toMatchObject({ mode: 'manual', setpointW: 1000, expiresAtMs: t + 3_600_000, by: 'ann' })
  const later = createOperatingMode({ settings: again.settings, now: () => t + 3_600_000 })
  expect(later.current()).toEqual({ mode: 'auto', sinceMs: t + 3_600_000, by: 'system' })
  expect(again.settings.get('mode')?.value).toEqual({ mode: 'auto', sinceMs: t + 3_600_000, by: 'system' })
})

it('a stored mode it does not know runs auto and says so; a store that refuses the write leaves the mode as it was', () => {
  const store = newStore()
  store.settings.put('mode', { mode: 'turbo' }, 'x', 1)
  const logs: string[] = []
  const mode = createOperatingMode({ settings: store.settings, now: () => t, log: (m) => logs.push(m) })
  expect(mode.current().mode).toBe('auto')
  expect(logs[0]).toMatch(/not one this version knows \(\{"mode":"turbo"\}\); running auto/)
  const failing = createOperatingMode({
    settings: {
      get: () => null,
      put: () => {
        throw new Error('disk full')
      },
    },
    now: () => t,
  })
  expect(() => failing.set({ mode: 'self-consumption' }, 'ann')).toThrow('disk full')
  expect(failing.current().mode).toBe('auto')
})
