// The settings an operator changes at run time (grid limits, tariff): the zod schemas the
// API validates them with (core/api/contract.ts re-exports them) and the types the site
// controller keeps them in.
import { z } from 'zod'

const powerLimitW = z.number().min(0).max(100_000_000)
/** Grid limits at the connection point; null: none. */
export const gridLimitsSchema = z.strictObject({ maxImportW: powerLimitW.positive().nullable(), maxExportW: powerLimitW.nullable() })
const priceEurPerKWh = z.number().min(-10).max(10)
/** A time-of-use tariff in the site's time zone: import price by local hour, one export price. */
export const tariffSettingsSchema = z
  .strictObject({
    importBands: z
      .array(z.strictObject({ fromHour: z.number().int().min(0).max(23), toHour: z.number().int().min(1).max(24), priceEurPerKWh }).refine((b) => b.fromHour < b.toHour, { message: 'toHour must be after fromHour', path: ['toHour'] }))
      .max(24),
    defaultImportEurPerKWh: priceEurPerKWh,
    exportEurPerKWh: priceEurPerKWh,
  })
  .superRefine((t, ctx) => {
    t.importBands.forEach((b, i) => {
      const j = t.importBands.findIndex((o, k) => k < i && b.fromHour < o.toHour && o.fromHour < b.toHour)
      if (j >= 0) ctx.addIssue({ code: 'custom', message: `hours ${b.fromHour}-${b.toHour} overlap importBands[${j}] (${t.importBands[j]!.fromHour}-${t.importBands[j]!.toHour})`, path: ['importBands', i, 'fromHour'] })
    })
  })

export type GridLimits = z.infer<typeof gridLimitsSchema>
export type TariffSettings = z.infer<typeof tariffSettingsSchema>
/** Settings changed at run time (start from the site file's `control` section). */
export type SiteSettings = { grid: GridLimits; tariff: TariffSettings; updatedAtMs: number | null; updatedBy: string | null }
