import { z } from 'zod'

// A device profile: a vendor's public register list as data (STYLE.md "Devices are data").
// Shared with hardware-sims as data; this file and profileCodec.ts are the only code they share.

export const pointTypes = ['int16', 'uint16', 'int32', 'uint32', 'float32', 'int64', 'uint64'] as const
export type ProfilePointType = (typeof pointTypes)[number]

const name = z.string().regex(/^[a-z][A-Za-z0-9_]{0,47}$/, 'a point name of letters, digits and _, starting with a lower-case letter')
const order = z.enum(['big', 'little'])

export const profilePointSchema = z.strictObject({
  name,
  /** The vendor's name for the register, as written in its list. */
  label: z.string().min(1),
  /** PDU address: zero-based, as sent on the wire (see the profile's `addressing`). */
  address: z.number().int().min(0).max(65535),
  function: z.enum(['holding', 'input']),
  type: z.enum(pointTypes),
  /** Order of the 16-bit words of a multi-register value (default: the profile's). */
  wordOrder: order.optional(),
  /** Multiplier from the raw register value to `unit` (default 1). */
  scale: z.number().refine((v) => v !== 0 && Number.isFinite(v), 'a finite, non-zero multiplier').optional(),
  /** A reading holding a power-of-ten exponent (SunSpec style) applied instead of `scale`. */
  scaleRegister: name.optional(),
  /** The unit after scaling; roles require their own (W, Wh, Hz, V, %). */
  unit: z.string().min(1).max(16),
  /** Negate after scaling, to map the vendor's sign onto GridMesh's (grid > 0 import, battery > 0 discharge). */
  invert: z.boolean().default(false),
  /** A named Modbus unit from defaults.modbusUnits when the point is not on the default unit ID. */
  modbusUnit: z.string().regex(/^[a-z][a-z0-9-]*$/).optional(),
  /** A raw integer the device sends for "not available" (floats: NaN is always not available). */
  notAvailable: z.number().int().optional(),
  notes: z.string().optional(),
})
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
  /** One point, or several whose values are combined (three phase powers summed). */
  points: z.array(name).min(1).max(8),
  combine: z.enum(['sum', 'mean']).default('sum'),
})
export type ReadBinding = z.infer<typeof readBinding>

const pointValue = z.strictObject({ point: name, value: z.number() })

const writeBinding = z.strictObject({
  point: name,
  /** The device's limits in the role's unit (GridMesh signs); writes are clamped to them. */
  min: z.number(),
  max: z.number(),
  /** Written before each setpoint when the device needs a mode or enable flag. */
  enable: pointValue.optional(),
  /** What hands control back to the device (clearPowerLimit / releasePower). */
  release: pointValue,
})
export type WriteBinding = z.infer<typeof writeBinding>

const roles = z.strictObject({
  ...(Object.fromEntries(Object.keys(readRoleUnits).map((role) => [role, readBinding.optional()])) as Record<ReadRole, z.ZodOptional<typeof readBinding>>),
  ...(Object.fromEntries(Object.keys(writeRoleUnits).map((role) => [role, writeBinding.optional()])) as Record<WriteRole, z.ZodOptional<typeof writeBinding>>),
})

const variant = z.strictObject({
  notes: z.string().min(1),
  /** Points that replace the base points of the same name for this variant. */
  readings: z.array(profilePointSchema).default([]),
  writes: z.array(profilePointSchema).default([]),
})

export const profileSchema = z
  .strictObject({
    $schema: z.string().optional(),
    id: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'a kebab-case id such as eastron-sdm630'),
    manufacturer: z.string().min(1),
    products: z.array(z.string().min(1)).min(1),
    protocol: z.strictObject({
      /** Where the public register list is, and which version of it this profile follows. */
      source: z.url(),
      document: z.string().min(1),
      /** How the vendor numbers registers and how `address` relates to that. */
      addressing: z.string().min(1),
      notes: z.array(z.string()).default([]),
    }),
    defaults: z.strictObject({
      unitId: z.number().int().min(0).max(255),
      /** Other unit IDs behind the same endpoint, by name (a gateway such as a Victron GX). */
      modbusUnits: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/), z.number().int().min(0).max(255)).default({}),
      wordOrder: order,
      /** Byte order within a register; Modbus is big-endian and every profile here is too. */
      byteOrder: z.literal('big').default('big'),
      maxRegistersPerRead: z.number().int().min(1).max(125),
      /** Unused registers a block read may span; 0 when the device rejects reads of undefined registers. */
      maxReadGap: z.number().int().min(0).max(125).default(0),
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
