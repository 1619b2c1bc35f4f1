import type { MeasuredSlot } from '../simulator/measureHistoryOnDevices.ts'
import type { Planner } from './createForecastPlanner.ts'

/** Perfect foresight: plans with what the site will measure, from the plan's start to the truth's end (the horizon is the whole period). */
export function createOraclePlanner(truth: readonly MeasuredSlot[]): Planner {
  return {
    kind: 'oracle',
    forecast({ fromMs }) {
      const ahead = truth.filter((s) => s.startMs >= fromMs)
      return { loadW: ahead.map((s) => s.loadW), pvW: ahead.map((s) => s.pvW), loadModel: 'oracle', loadMethod: 'oracle', loadReason: null, pvModel: 'oracle' }
    },
  }
}
