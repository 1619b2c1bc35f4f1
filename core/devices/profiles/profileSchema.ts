import { z } from 'zod'

// A device profile: a vendor's public register list as data (STYLE.md "Devices are data").
// Shared with hardware-sims as data; this file and profileCodec.ts are the only code they share.

export const pointTypes = ['int16', 'uint16', 'int32', 'uint32', 'float32', 'int64', 'uint64'] as const
export type ProfilePointType = (typeof pointTypes)[number]

const name = z.string().regex(/^[a-z][A-Za-z0-9_]{0,47}$/, 'a point name of letters, digits and _, starting with a lower-case letter').meta({ id: 'PointName' })
const order = z.enum(['big', 'little']).meta({ id: 'WordOrder' })

export const profilePointSchema = z.strictObject({
  name,
  label: z.string().min(1).describe("The vendor's name for the register, as written in its list"),
  address: z.number().int().min(0).max(65535).describe("PDU address: zero-based, as sent on the wire (see protocol.addressing for the vendor's numbering)"),
  function: z.enum(['holding', 'input']).describe('holding: function 0x03 (writes 0x10); input: function 0x04'),
  type: z.enum(pointTypes),
  wordOrder: order.optional().describe("Order of the 16-bit words of a multi-register value (default: defaults.wordOrder)"),
  scale: z.number().refine((v) => v !== 0 && Number.isFinite(v), 'a finite, non-zero multiplier').optional()
    .describe('Multiplier from the raw register value to `unit` (default 1): a gain of 100 is 0.01, kWh to Wh is 1000'),
  scaleRegister: name.optional().describe('A reading (int16) holding a power-of-ten exponent, SunSpec style, applied instead of scale'),
  unit: z.string().min(1).max(16).describe('The unit after scaling; roles require theirs (W, Wh, Hz, V, %)'),
  invert: z.boolean().default(false).describe("Negate after scaling, mapping the vendor's sign onto GridMesh's: grid > 0 import, battery > 0 discharge"),
  modbusUnit: z.string().regex(/^[a-z][a-z0-9-]*$/).optional().describe('A named unit of defaults.modbusUnits, when the point is not on the default unit ID'),
  notAvailable: z.number().int().optional().describe('A raw integer the device sends for "not available"; it reads as null (float NaN always does)'),
  notes: z.string().optional(),
}).meta({ id: 'Point', description: 'A raw register point' })
export type ProfilePoint = z.infer<typeof profilePointSchema>

/** Roles a reading can fill, and the unit each requires of its points. */
export const readRoleUnits = {
  'meter.powerW': 'W',
  'meter.importWh': 'Wh',
  'meter.exportWh': 'Wh',
  'meter.frequencyHz': 'Hz',
  'meter.voltageV': 'V',
  'pv.powerW': 'W',
  'pv.energyWh': 'Wh',
  'battery.powerW': 'W',
  'battery.socPct': '%',
} as const
export type ReadRole = keyof typeof readRoleUnits

/** Roles a write fills, and the unit each requires. */
export const writeRoleUnits = { 'pv.limitPct': '%', 'battery.setpointW': 'W' } as const
export type WriteRole = keyof typeof writeRoleUnits

/** Roles a declared capability needs at least. */
export const requiredRoles = {
  meter: ['meter.powerW'],
  pv: ['pv.powerW', 'pv.limitPct'],
  battery: ['battery.powerW', 'battery.socPct', 'battery.setpointW'],
} as const

const readBinding = z.strictObject({
  points: z.array(name).min(1).max(8).describe('One point, or several whose values are combined (three phase powers summed)'),
  combine: z.enum(['sum', 'mean']).default('sum'),
}).meta({ id: 'ReadRole' })
export type ReadBinding = z.infer<typeof readBinding>

const pointValue = z.strictObject({ point: name, value: z.number() }).meta({ id: 'PointValue' })

const writeBinding = z.strictObject({
  point: name,
  min: z.number().describe("The device's lower limit in the role's unit and GridMesh's sign; writes are clamped to it"),
  max: z.number().describe("The device's upper limit in the role's unit and GridMesh's sign"),
  enable: pointValue.optional().describe('Written before each setpoint when the device needs a mode or enable flag'),
  release: pointValue.describe('What hands control back to the device (clearPowerLimit / releasePower)'),
}).meta({ id: 'WriteRole' })
export type WriteBinding = z.infer<typeof writeBinding>

const roles = z.strictObject({
  ...(Object.fromEntries(Object.keys(readRoleUnits).map((role) => [role, readBinding.optional()])) as Record<ReadRole, z.ZodOptional<typeof readBinding>>),
  ...(Object.fromEntries(Object.keys(writeRoleUnits).map((role) => [role, writeBinding.optional()])) as Record<WriteRole, z.ZodOptional<typeof writeBinding>>),
})

const variant = z.strictObject({
  notes: z.string().min(1),
  readings: z.array(profilePointSchema).default([]).describe('Points that replace the base points of the same name for this variant'),
  writes: z.array(profilePointSchema).default([]),
})

export const profileSchema = z
  .strictObject({
    $schema: z.string().optional(),
    id: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'a kebab-case id such as eastron-sdm630').describe("The profile's type name, equal to the file's name"),
    manufacturer: z.string().min(1),
    products: z.array(z.string().min(1)).min(1),
    protocol: z.strictObject({
      source: z.url().describe('Where the public register list is'),
      document: z.string().min(1).describe('Which document and version this profile follows'),
      addressing: z.string().min(1).describe('How the vendor numbers registers and how `address` relates to that'),
      notes: z.array(z.string()).default([]),
    }),
    defaults: z.strictObject({
      unitId: z.number().int().min(0).max(255),
      modbusUnits: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/), z.number().int().min(0).max(255)).default({})
        .describe('Other unit IDs behind the same endpoint, by name (a gateway such as a Victron GX)'),
      wordOrder: order,
      byteOrder: z.literal('big').default('big').describe('Byte order within a register: Modbus is big-endian'),
      maxRegistersPerRead: z.number().int().min(1).max(125),
      maxReadGap: z.number().int().min(0).max(125).default(0)
        .describe('Unused registers a block read may span; 0 when the device rejects reads of undefined registers'),
    }),
    capabilities: z.array(z.enum(['meter', 'pv', 'battery'])).min(1),
    readings: z.array(profilePointSchema).default([]),
    writes: z.array(profilePointSchema).default([]),
    roles,
    variants: z.record(z.string().regex(/^[a-z0-9][a-z0-9.-]*$/), variant).default({}),
  })
  .superRefine((profile, ctx) => checkProfile(profile, ctx))

export type Profile = z.infer<typeof profileSchema>
export type ProfileRoles = Profile['roles']

export function registersOfPointType(type: ProfilePointType): number {
  return type === 'int16' || type === 'uint16' ? 1 : type === 'int64' || type === 'uint64' ? 4 : 2
}

/** The JSON Schema for editors (core/devices/profiles/profile.schema.json is generated from it). */
export function profileJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(profileSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>
}

type Ctx = z.RefinementCtx

function checkProfile(profile: z.output<typeof profileSchema>, ctx: Ctx): void {
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message })
  const byName = new Map<string, { point: ProfilePoint; writable: boolean }>()
  const units = new Set(Object.keys(profile.defaults.modbusUnits))

  const checkPoints = (points: ProfilePoint[], where: (string | number)[], writable: boolean, base: Map<string, unknown> | null) => {
    const occupied = new Map<string, string>()
    points.forEach((point, i) => {
      const at = [...where, i]
      if (base) {
        if (!base.has(point.name)) issue([...at, 'name'], `a variant may only replace base points; there is no point '${point.name}'`)
      } else if (byName.has(point.name)) issue([...at, 'name'], `duplicate point name '${point.name}'`)
      else byName.set(point.name, { point, writable })
      const count = registersOfPointType(point.type)
      if (point.address + count > 0x10000) issue([...at, 'address'], `expected the point to end at or below 65535, got ${point.address}+${count}`)
      if (writable && point.function !== 'holding') issue([...at, 'function'], 'expected holding: only holding registers can be written')
      if (point.scale !== undefined && point.scaleRegister !== undefined) issue([...at, 'scaleRegister'], 'expected scale or scaleRegister, not both')
      if (point.modbusUnit !== undefined && !units.has(point.modbusUnit)) {
        issue([...at, 'modbusUnit'], `expected one of the defaults.modbusUnits (${[...units].join(', ') || 'none declared'}), got '${point.modbusUnit}'`)
      }
      if (!base) {
        for (let r = 0; r < count; r++) {
          const key = `${point.modbusUnit ?? ''}/${point.function}/${point.address + r}`
          const other = occupied.get(key)
          if (other) issue([...at, 'address'], `register ${point.address + r} overlaps point '${other}'`)
          occupied.set(key, point.name)
        }
      }
    })
    return occupied
  }
  const readOccupied = checkPoints(profile.readings, ['readings'], false, null)
  const writeOccupied = checkPoints(profile.writes, ['writes'], true, null)
  for (const [key, pointName] of writeOccupied) {
    if (readOccupied.has(key)) issue(['writes'], `point '${pointName}' overlaps reading '${readOccupied.get(key)}' at ${key}`)
  }
  for (const [key, v] of Object.entries(profile.variants)) {
    checkPoints(v.readings, ['variants', key, 'readings'], false, byName)
    checkPoints(v.writes, ['variants', key, 'writes'], true, byName)
  }

  for (const [where, points] of [['readings', profile.readings], ['writes', profile.writes]] as const) {
    points.forEach((point, i) => {
      if (point.scaleRegister === undefined) return
      const target = byName.get(point.scaleRegister)
      if (!target || target.writable || target.point.type !== 'int16') {
        issue([where, i, 'scaleRegister'], `expected the name of an int16 reading, got '${point.scaleRegister}'`)
      }
    })
  }

  const roles = profile.roles as Record<string, ReadBinding | WriteBinding | undefined>
  for (const [role, unit] of Object.entries(readRoleUnits)) {
    const binding = roles[role] as ReadBinding | undefined
    binding?.points.forEach((pointName, i) => {
      const found = byName.get(pointName)
      if (!found) issue(['roles', role, 'points', i], `expected the name of a reading or write, got '${pointName}'`)
      else if (found.point.unit !== unit) issue(['roles', role, 'points', i], `expected a point in ${unit}, got '${pointName}' in ${found.point.unit}`)
    })
  }
  for (const [role, unit] of Object.entries(writeRoleUnits)) {
    const binding = roles[role] as WriteBinding | undefined
    if (!binding) continue
    const found = byName.get(binding.point)
    if (!found?.writable) issue(['roles', role, 'point'], `expected the name of a write, got '${binding.point}'`)
    else if (found.point.unit !== unit) issue(['roles', role, 'point'], `expected a point in ${unit}, got '${binding.point}' in ${found.point.unit}`)
    if (binding.min > binding.max) issue(['roles', role, 'min'], `expected min <= max (${binding.max}), got ${binding.min}`)
    for (const key of ['enable', 'release'] as const) {
      const ref = binding[key]
      if (ref && !byName.get(ref.point)?.writable) issue(['roles', role, key, 'point'], `expected the name of a write, got '${ref.point}'`)
    }
  }

  const declared = new Set(profile.capabilities)
  for (const capability of declared) {
    for (const role of requiredRoles[capability]) if (!roles[role]) issue(['roles'], `capability '${capability}' needs role '${role}'`)
  }
  for (const [role, binding] of Object.entries(roles)) {
    const capability = role.split('.')[0] as 'meter' | 'pv' | 'battery'
    if (binding && !declared.has(capability)) issue(['roles', role], `role of capability '${capability}', which the profile does not declare`)
  }
}
