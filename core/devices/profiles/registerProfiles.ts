import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { createProfileDriver } from './createProfileDriver.ts'
import type { DriverRegistry } from './createDriverRegistry.ts'
import { DriverRegistryError } from './errors.ts'
import { loadProfile } from './loadProfile.ts'
import type { Profile } from './profileSchema.ts'

/** The bundled profiles' directory. */
export const profilesDir = new URL('.', import.meta.url).pathname

/** The profile files of a directory (every *.json but the JSON Schema). */
export function profileFilesIn(dir: string = profilesDir): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.json') && !f.endsWith('.schema.json')).sort().map((f) => join(dir, f))
}

/**
 * Loads and validates every file, then registers each profile under its id with the
 * generic driver. All or nothing: a bad file or a taken id registers none of them.
 */
export function registerProfiles(registry: DriverRegistry, files: readonly string[]): Profile[] {
  const profiles = files.map((file) => loadProfile(file))
  const seen = new Set<string>()
  for (const profile of profiles) {
    if (seen.has(profile.id) || registry.has(profile.id)) throw new DriverRegistryError(`driver type '${profile.id}' is already registered`)
    seen.add(profile.id)
  }
  for (const profile of profiles) registry.register(profile.id, (options) => createProfileDriver(profile, options))
  return profiles
}
