import { createDriverRegistry, type DriverRegistry } from './profiles/createDriverRegistry.ts'
import { profileFilesIn, registerProfiles } from './profiles/registerProfiles.ts'
import type { Profile } from './profiles/profileSchema.ts'
import { createSunSpecDriver, SunSpecDriverError } from './sunspec/createSunSpecDriver.ts'
import { discoverSunSpec } from './sunspec/readSunSpecDevice.ts'

let bundled: { registry: DriverRegistry; profiles: Profile[] } | null = null

/**
 * The one driver registry: the SunSpec code driver under 'sunspec' and every bundled profile
 * (core/devices/profiles/*.json) under its id, built once. A profile whose id took a code
 * driver's name would be refused by the registry's duplicate check.
 */
export function bundledDriverRegistry(): { registry: DriverRegistry; profiles: Profile[] } {
  if (bundled) return bundled
  const registry = createDriverRegistry()
  registry.register('sunspec', async ({ name, client, unitId = 1, timeoutMs, sunspecBase, log }) => {
    const discovery = await discoverSunSpec(client, unitId, { ...(timeoutMs !== undefined && { timeoutMs }), ...(sunspecBase !== undefined && { bases: [sunspecBase] }) })
    if (!discovery) throw new SunSpecDriverError(`${name}: no SunSpec map at ${client.transport.endpoint} unit ${unitId} (tried ${sunspecBase ?? '40000, 50000, 0'})`)
    return createSunSpecDriver({ name, client, unitId, discovery, ...(log && { log }) })
  })
  bundled = { registry, profiles: registerProfiles(registry, profileFilesIn()) }
  return bundled
}
