import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { ModbusClient } from '../modbus/createModbusClient.ts'
import { createDriverRegistry } from './createDriverRegistry.ts'
import { DriverRegistryError, ProfileFileError } from './errors.ts'
import { profileFilesIn, registerProfiles } from './registerProfiles.ts'

const fixture = (path: string) => fileURLToPath(new URL(`../../../test/fixtures/profiles/${path}`, import.meta.url))
const client = {} as ModbusClient

describe('createDriverRegistry', () => {
  it('rejects a type registered twice and keeps the first', async () => {
    const registry = createDriverRegistry()
    const first = () => ({ name: 'a' }) as never
    registry.register('acme', first)
    expect(() => registry.register('acme', () => ({ name: 'b' }) as never)).toThrow(new DriverRegistryError("driver type 'acme' is already registered"))
    expect(await registry.create('acme', { name: 'x', client })).toEqual({ name: 'a' })
  })

  it('fails to create an unknown type by listing the known ones', async () => {
    const registry = createDriverRegistry()
    registry.register('zeta', () => ({}) as never)
    registry.register('alpha', () => ({}) as never)
    await expect(registry.create('sma-tripower', { name: 'x', client })).rejects.toThrow("unknown driver type 'sma-tripower'; known: alpha, zeta")
    await expect(createDriverRegistry().create('x', { name: 'x', client })).rejects.toThrow('known: none')
  })
})

describe('registerProfiles', () => {
  it('registers every bundled profile under its id, with a driver of exactly its capabilities', async () => {
    const registry = createDriverRegistry()
    const profiles = registerProfiles(registry, profileFilesIn())
    expect(profiles.length).toBeGreaterThanOrEqual(3)
    expect(registry.types()).toEqual(profiles.map((p) => p.id).sort())
    for (const p of profiles) expect((await registry.create(p.id, { name: 'd', client })).capabilities).toEqual(p.capabilities)
  })

  it('registers nothing when one file is bad or an id is taken: the registry stays as it was', () => {
    const registry = createDriverRegistry()
    registerProfiles(registry, profileFilesIn())
    const before = registry.types()
    expect(() => registerProfiles(registry, [fixture('good/acme-meter.json'), fixture('bad-type/sdm630.json')])).toThrow(ProfileFileError)
    expect(registry.types()).toEqual(before)
    expect(() => registerProfiles(registry, [fixture('good/acme-meter.json'), profileFilesIn()[0]!])).toThrow(/already registered/)
    expect(registry.types()).toEqual(before)
    expect(() => registerProfiles(registry, [fixture('good/acme-meter.json'), fixture('good/acme-meter.json')])).toThrow("driver type 'acme-meter' is already registered")
    expect(registry.types()).toEqual(before)
    registerProfiles(registry, [fixture('good/acme-meter.json')])
    expect(registry.types()).toEqual([...before, 'acme-meter'].sort())
  })
})
