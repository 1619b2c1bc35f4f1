// The records the store keeps, as its callers see them.
import type { AlarmInput, AlarmState } from './transitionAlarm.ts'

export type { AlarmState }
export type TelemetrySample = { timeMs: number; device: string; point: string; value: number }
export type TelemetryTier = 'raw' | '1m' | '15m'
export type TelemetryQuery = { device?: string; point?: string; fromMs: number; toMs: number; tier?: TelemetryTier }
/** A raw sample, or a bucket (value = average, min, max) starting at timeMs. */
export type TelemetryRow = { timeMs: number; device: string; point: string; value: number; min?: number; max?: number }
export type WriteRecord = {
  timeMs: number
  device: string
  point: string
  requested: number
  written: number
  readBack: number | null
  verified: boolean
  clamped: boolean
  reason: string
}
export type PlanDocument = Record<string, unknown> & { version: number; createdAtMs: number }
export type ForecastKind = 'load' | 'pv'
export type ForecastRecord = {
  createdAtMs: number
  kind: ForecastKind
  model: string
  startMs: number
  slotMs: number
  valuesW: number[]
  /** P10 and P90 per slot, W, where the forecast has calibrated quantiles (live only: the store keeps valuesW). */
  p10W?: number[]
  p90W?: number[]
  /** Where the quantiles came from. */
  quantileSource?: string
}
export type AlarmSeverity = 'info' | 'warning' | 'critical'
/** An ISA-18.2 state, or a group: `active` (unacknowledged or acknowledged: the condition holds and is annunciated), `open` (not normal). */
export type AlarmFilterState = AlarmState | 'active' | 'open'
export type Alarm = {
  id: number
  key: string
  device: string | null
  severity: AlarmSeverity
  message: string
  state: AlarmState
  /** Whether the condition holds now (also while shelved). */
  conditionActive: boolean
  raisedAtMs: number
  acknowledgedAtMs: number | null
  acknowledgedBy: string | null
  clearedAtMs: number | null
  /** Set while shelved: who, when, why and until when. */
  shelvedAtMs: number | null
  shelvedBy: string | null
  shelvedUntilMs: number | null
  shelveReason: string | null
  /** The last transition. */
  changedAtMs: number
}
export type AlarmAction = AlarmInput['type']
/** One transition of one alarm: what happened, the state it led to, who did it, why and until when (shelve). */
export type AlarmEvent = { alarmId: number; action: AlarmAction; state: AlarmState; timeMs: number; by: string | null; reason: string | null; untilMs: number | null }
export type ExportTable = 'telemetry' | 'writes' | 'alarms' | 'plans' | 'forecasts'
export type ExportQuery = { fromMs: number; toMs: number; tier?: TelemetryTier }
