// Pins the public surface of core/store: control, API and CLI code import these.
import { expect, it } from 'vitest'

it('core/store exports', async () => {
  const modules = {
    createStore: await import('./createStore.ts'),
    migrateStore: await import('./migrateStore.ts'),
    formatCsvRow: await import('./formatCsvRow.ts'),
    errors: await import('./errors.ts'),
    cli: await import('./cli.ts'),
  }
  const surface = Object.fromEntries(Object.entries(modules).map(([name, module]) => [name, Object.keys(module).sort()]))
  expect(surface).toEqual({
    createStore: ['createStore'],
    migrateStore: ['STORE_MIGRATIONS', 'STORE_SCHEMA_VERSION', 'migrateStore'],
    formatCsvRow: ['formatCsvRow'],
    errors: ['AlarmNotOpenError', 'StoreInputError', 'StoreOpenError'],
    cli: ['run'],
  })
})
