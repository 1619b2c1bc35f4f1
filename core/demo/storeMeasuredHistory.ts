import type { MeasuredSlot } from '../simulator/measureHistoryOnDevices.ts'
import type { Store } from '../store/createStore.ts'

/**
 * Writes a history pass's slot means into the store as the site's measured history (device
 * `site`, points `loadW` and `pvW`, one sample at each slot's start) and rolls it up to the
 * 15-minute tier, which the site controller seeds its slot history from.
 */
export function storeMeasuredHistory(store: Pick<Store, 'appendTelemetry' | 'downsample'>, slots: readonly MeasuredSlot[], untilMs: number): void {
  store.appendTelemetry(slots.flatMap((s) => [
    { timeMs: s.startMs, device: 'site', point: 'loadW', value: s.loadW },
    { timeMs: s.startMs, device: 'site', point: 'pvW', value: s.pvW },
  ]))
  store.downsample(untilMs)
}
