import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { ProfileFileError } from './errors.ts'
import { loadProfile, parseProfile } from './loadProfile.ts'

const fixture = (path: string) => fileURLToPath(new URL(`../../../test/fixtures/profiles/${path}`, import.meta.url))

const problemsOf = (fn: () => unknown): { message: string; problems: string[] } => {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(ProfileFileError)
    return { message: (error as ProfileFileError).message, problems: (error as ProfileFileError).problems }
  }
  throw new Error('expected a ProfileFileError')
}

describe('loadProfile', () => {
  it('loads a valid profile with its defaults filled in', () => {
    const profile = loadProfile(fixture('good/acme-meter.json'))
    expect(profile.id).toBe('acme-meter')
    expect(profile.defaults.byteOrder).toBe('big')
    expect(profile.readings.find((p) => p.name === 'power')!.invert).toBe(true)
    expect(profile.roles['meter.powerW']!.combine).toBe('sum')
    expect(Object.keys(profile.variants)).toEqual(['fw2'])
  })

  it('names the file and the JSON path of a wrong type, with what was expected and what it got', () => {
    const { message } = problemsOf(() => loadProfile(fixture('bad-type/sdm630.json')))
    expect(message).toContain('sdm630.json: readings[3].type: expected one of int16|uint16|int32|uint32|float32|int64|uint64, got "float"')
  })

  it('lists every broken reference: unknown points, wrong units, missing roles, writes that are not holding registers', () => {
    const { message, problems } = problemsOf(() => loadProfile(fixture('bad-roles/acme-broken.json')))
    expect(message).toContain('acme-broken.json: invalid profile')
    expect(problems).toEqual(expect.arrayContaining([
      "roles.meter.powerW.points[0]: expected the name of a reading or write, got 'pwr'",
      "roles.meter.frequencyHz.points[0]: expected a point in Hz, got 'power' in W",
      "roles: capability 'pv' needs role 'pv.limitPct'",
      'writes[0].function: expected holding: only holding registers can be written',
    ]))
  })

  it('rejects text that is not JSON, a file named other than its id, and a file that is not there', () => {
    expect(problemsOf(() => loadProfile(fixture('not-json/acme-garbled.json'))).message).toMatch(/^acme-garbled\.json: not JSON: /)
    expect(problemsOf(() => loadProfile(fixture('wrong-id/acme-other.json'))).message).toBe("acme-other.json: id: expected 'acme-other' (the file's name), got 'acme-meter'")
    expect(problemsOf(() => loadProfile(fixture('good/nothing-here.json'))).message).toBe('nothing-here.json: cannot read the file (ENOENT)')
  })

  it('checks overlaps, scale registers, limits, variants and unknown fields', () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a profile being broken on purpose
    const base = JSON.parse(JSON.stringify(loadProfile(fixture('good/acme-meter.json')))) as Record<string, any>
    base.readings.push({ name: 'overlap', label: 'x', address: 11, function: 'holding', type: 'uint16', unit: 'W' })
    base.readings[1].scaleRegister = 'energy'
    base.roles['pv.limitPct'].min = 120
    base.variants.fw2.readings.push({ name: 'newPoint', label: 'y', address: 40, function: 'holding', type: 'uint16', unit: 'W' })
    base.colour = 'blue'
    const { problems } = problemsOf(() => parseProfile(JSON.stringify(base), 'acme-meter.json'))
    expect(problems).toEqual(expect.arrayContaining([
      "(top level): unknown field(s) 'colour'",
    ]))
    delete base.colour
    const second = problemsOf(() => parseProfile(JSON.stringify(base), 'acme-meter.json')).problems
    expect(second).toEqual(expect.arrayContaining([
      "readings[5].address: register 11 overlaps point 'power'",
      "readings[1].scaleRegister: expected the name of an int16 reading, got 'energy'",
      'roles.pv.limitPct.min: expected min <= max (100), got 120',
      "variants.fw2.readings[1].name: a variant may only replace base points; there is no point 'newPoint'",
    ]))
  })
})
