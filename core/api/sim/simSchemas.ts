import { z } from 'zod'

// What GridMesh expects of the simulator's control API (hardware-sims/api/createControlApi.ts).
// core never imports the simulator: its answers are checked here at the edge instead.

const simDeviceSchema = z.looseObject({
    name: z.string(),
    kind: z.string(),
    faults: z.record(z.string(), z.unknown()),
    powerW: z.number().optional(),
    socPct: z.number().nullable().optional(),
    connected: z.boolean().optional(),
})

/** GET <sim>/api/state */
export const simStateSchema = z.looseObject({
    site: z.string(),
    timeMs: z.number(),
    time: z.string(),
    speed: z.number(),
    paused: z.boolean(),
    powerW: z.record(z.string(), z.number()),
    /** Weather: the sky's clearness 0..1 now. */
    clearness: z.number(),
    energyWh: z.record(z.string(), z.number()),
    devices: z.array(simDeviceSchema),
})

export type SimState = z.infer<typeof simStateSchema>
