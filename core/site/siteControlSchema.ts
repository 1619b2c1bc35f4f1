import { z } from 'zod'
import { weatherSourceSchema } from '../forecast/weather/weatherSourceSchema.ts'
import { checkSocRange } from './checkSocRange.ts'

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a local date YYYY-MM-DD')

/** How the site is run (`gridmesh serve`): where it is, its PV, grid and battery limits, its tariff. Every field has a default. */
export const siteControlSchema = z.strictObject({
  location: z.strictObject({ latitudeDeg: z.number().min(-90).max(90), longitudeDeg: z.number().min(-180).max(180) }).optional(),
  /** The PV array for the clear-sky forecast (peak power in kWp DC). */
  pv: z.strictObject({ tiltDeg: z.number().min(0).max(90).default(20), azimuthDeg: z.number().min(-180).max(360).default(0), peakPowerKw: z.number().positive() }).optional(),
  /** A weather forecast for the PV forecast (Open-Meteo hourly JSON at a URL or in a file); without it PV is forecast from measured production alone. */
  weather: weatherSourceSchema.optional(),
  grid: z.strictObject({ maxImportW: z.number().positive().nullable().default(null), maxExportW: z.number().min(0).nullable().default(null) }).default({ maxImportW: null, maxExportW: null }),
  battery: z
    .strictObject({
      socMinPct: z.number().min(0).max(100).default(10),
      socMaxPct: z.number().min(0).max(100).default(95),
      targetEndSocPct: z.number().min(0).max(100).default(30),
      degradationCostEurPerKWh: z.number().min(0).default(0.01),
    })
    .superRefine((b, ctx) => checkSocRange(b.socMinPct, b.socMaxPct, ctx))
    .default({ socMinPct: 10, socMaxPct: 95, targetEndSocPct: 30, degradationCostEurPerKWh: 0.01 }),
  tariff: z
    .strictObject({
      importBands: z.array(z.strictObject({ fromHour: z.number().int().min(0).max(23), toHour: z.number().int().min(1).max(24), priceEurPerKWh: z.number() })),
      defaultImportEurPerKWh: z.number(),
      exportEurPerKWh: z.number(),
    })
    .optional(),
  /** Public holidays in the site's time zone: the load forecast treats them like the holidays it learned from. */
  holidays: z.array(isoDate).default([]),
  /** A load model directory (tfjs format with metadata.json); default: the model shipped in models/default. */
  loadModel: z.string().optional(),
  cycleMs: z.number().int().min(100).max(60_000).default(1000),
})

export type SiteControl = z.infer<typeof siteControlSchema>
