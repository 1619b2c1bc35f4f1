import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { createStore } from './createStore.ts'

it('keeps the last value of each key with when and who, across a reopen', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'gm-settings-')), 'store.db')
  const store = createStore({ path })
  expect(store.settings.get('mode')).toBeNull()
  store.settings.put('mode', { mode: 'manual', setpointW: 1500 }, 'ann', 10)
  store.settings.put('mode', { mode: 'auto' }, 'bob', 20)
  store.settings.put('grid', { maxImportW: 9000, maxExportW: null }, 'cy', 30)
  store.close()
  const again = createStore({ path })
  try {
    expect(again.settings.get('mode')).toEqual({ value: { mode: 'auto' }, updatedAtMs: 20, updatedBy: 'bob' })
    expect(again.settings.get('grid')?.value).toEqual({ maxImportW: 9000, maxExportW: null })
  } finally {
    again.close()
  }
})
