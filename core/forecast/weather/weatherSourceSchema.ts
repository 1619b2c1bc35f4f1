import { z } from 'zod'

/**
 * A site file's weather section (control.weather): where the PV forecast's weather comes
 * from, an Open-Meteo hourly forecast JSON (shortwave_radiation, cloud_cover) at a URL or in
 * a file. Without it the PV forecast runs on measured production alone.
 */
export const weatherSourceSchema = z
  .strictObject({
    /** An http(s) URL, e.g. https://api.open-meteo.com/v1/forecast?latitude=..&longitude=..&hourly=shortwave_radiation,cloud_cover&past_days=3 */
    url: z.url({ protocol: /^https?$/, error: 'an http or https URL' }).optional(),
    /** A file holding such a response (written by a cron job, say). */
    file: z.string().min(1).optional(),
    /** Older than this the forecast is stale and the PV forecast falls back (default 12 h). */
    maxAgeH: z.number().positive().max(240).default(12),
    /** The forecast's place may be this far from the site's location (default 25 km). */
    toleranceKm: z.number().positive().max(500).default(25),
    /** A URL is fetched at most this often (default 60 min). */
    refreshMin: z.number().positive().max(1440).default(60),
    /** A fetch that takes longer is abandoned (default 5 s). */
    timeoutMs: z.number().int().positive().max(60_000).default(5000),
  })
  .superRefine((w, ctx) => {
    if ((w.url === undefined) === (w.file === undefined)) ctx.addIssue({ code: 'custom', message: 'give exactly one of url and file' })
  })

export type WeatherSourceConfig = z.infer<typeof weatherSourceSchema>
