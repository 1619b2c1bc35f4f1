import { z } from 'zod'

/** metadata.json beside a saved load model: what it needs as input, how to scale it, and how well it did. */
export const loadModelMetadataSchema = z.object({
  format: z.literal('gridmesh-load-model/1'),
  architecture: z.object({ kind: z.literal('dense-embeddings'), hidden: z.array(z.number().int().positive()), slotEmbedding: z.number().int().positive(), weekdayEmbedding: z.number().int().positive() }),
  features: z.object({
    numeric: z.array(z.string()),
    embeddings: z.array(z.string()),
    withTemperature: z.boolean(),
    target: z.string(),
  }),
  scalers: z.object({ numericMean: z.array(z.number()), numericStd: z.array(z.number()), targetMean: z.number(), targetStd: z.number() }),
  slotMs: z.number().int().positive(),
  slotsPerDay: z.number().int().positive(),
  maxLeadSlots: z.number().int().positive(),
  timeZone: z.string(),
  training: z.object({
    source: z.string(),
    fromIso: z.string(),
    toIso: z.string(),
    samples: z.number().int(),
    epochs: z.number().int(),
    bestEpoch: z.number().int(),
    durationMs: z.number(),
    backend: z.string(),
    /** The seed of sampling, weight initialisation and epoch order (absent in models trained before it was recorded). */
    seed: z.number().int().optional(),
  }),
  validation: z.object({
    fromIso: z.string(),
    toIso: z.string(),
    dayAheadMapePct: z.number(),
    dayAheadMaeKw: z.number(),
    seasonalNaiveDayMapePct: z.number(),
    seasonalNaiveWeekMapePct: z.number(),
    loss: z.number(),
  }),
  /**
   * P10/P90 as ratios to the forecast per lead block, calibrated on the validation days (which training never
   * fitted on); absent in models trained before quantiles existed.
   */
  quantiles: z
    .object({
      low: z.number().gt(0).lt(1),
      high: z.number().gt(0).lt(1),
      leadBlockSlots: z.number().int().positive(),
      lowRatio: z.array(z.number()),
      highRatio: z.array(z.number()),
      samples: z.array(z.number().int()),
      fromIso: z.string(),
      toIso: z.string(),
    })
    .optional(),
  versions: z.object({ tfjs: z.string(), node: z.string(), gridmesh: z.string() }),
  trainedAt: z.string(),
})

export type LoadModelMetadata = z.infer<typeof loadModelMetadataSchema>
