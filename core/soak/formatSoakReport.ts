import type { SoakFigures } from './runSoak.ts'

const s = (v: number | null) => (v === null ? '-' : `${v} s`)
const zero = (v: number) => (v === 0 ? '0' : `${v}  <-- must be 0`)

/** The soak's figures as a report for people (the same numbers as --json). */
export function formatSoakReport(f: SoakFigures): string {
  const lines = [
    `soak: seed ${f.seed}, ${f.days} simulated day(s) from ${f.start}, ${f.cycleS} s cycles, wall time ${f.wallTimeS} s`,
    '',
    `faults injected: ${f.faultsInjected.total} of ${f.faultsRequested}${f.faultsInjected.killsSkippedServiceDown ? ` (${f.faultsInjected.killsSkippedServiceDown} kill(s) skipped: the service was already down)` : ''}`,
    ...Object.entries(f.notApplicable).map(([k, why]) => `  ${k}: ${why}`),
    '',
    `setpoints outside the envelope:  ${zero(f.setpointsOutsideEnvelope.total)}  (stored writes ${f.setpointsOutsideEnvelope.storedWrites} of ${f.setpointsOutsideEnvelope.writesChecked}, cycle decisions ${f.setpointsOutsideEnvelope.decisions}, simulator ${f.setpointsOutsideEnvelope.simulator})`,
    `SoC outside ${f.socOutsideLimits.limitsPct[0]}-${f.socOutsideLimits.limitsPct[1]} % (simulator truth, ±${f.socOutsideLimits.tolerancePct}), driven further out by a setpoint: ${zero(f.socOutsideLimits.cycles)} cycle(s); outside at all: ${f.socOutsideLimits.cyclesOutsideAtAll}; simulated SoC ranged ${f.socOutsideLimits.minPct}-${f.socOutsideLimits.maxPct} %`,
    ...f.socOutsideLimits.examples.map((e) => `  ${e.time}: SoC ${e.socPct} %, setpoint ${e.setpointW} W, service ${e.serviceUp ? 'up' : 'down'}, faults ${e.activeFaults.join(' ') || 'none'}`),
    `crashes:                         ${zero(f.crashes)}${f.crashReasons.length ? `  ${f.crashReasons.join('; ')}` : ''}`,
    `rows lost after kill -9:         ${zero(f.rowsLost)}  (${f.rowsChecked} acknowledged rows checked after ${f.killsChecked} restart(s))`,
    `intervals settled exactly once:  ${f.intervalsSettledExactlyOnce}`,
    '',
    `grid export beyond ${f.gridExportBeyondLimit.limitW} W: ${f.gridExportBeyondLimit.cycles} cycle(s), ${f.gridExportBeyondLimit.whileAllFresh} with every device fresh; peak export ${f.gridExportBeyondLimit.maxExportW} W`,
    `control cycles that failed: ${f.cycleErrors}${f.cycleErrorReasons.length ? `  ${f.cycleErrorReasons.join('; ')}` : ''}`,
    `service starts refused: ${f.startsRefused}${f.startRefusalReasons.length ? `  ${f.startRefusalReasons.join('; ')}` : ''}; service down ${f.serviceDownS} simulated s`,
    `alarms raised ${f.alarms.raised}, cleared ${f.alarms.cleared}; active in the store at the end: ${f.alarms.activeAtEnd.join(', ') || 'none'}`,
    '',
    `detection: ${f.detection.detected} detected, ${f.detection.undetected} not; p50 ${s(f.detection.p50S)}, p99 ${s(f.detection.p99S)}`,
    `recovery:  ${f.recovery.recovered} recovered, ${f.recovery.notRecovered} not; p50 ${s(f.recovery.p50S)}, p99 ${s(f.recovery.p99S)}`,
    '',
    'kind        injected  detected  undetected  detect p50/p99     recovered  not  recover p50/p99',
    ...Object.entries(f.byKind).map(([kind, k]) =>
      `${kind.padEnd(11)} ${String(k.injected).padStart(8)}  ${String(k.detected).padStart(8)}  ${String(k.undetected).padStart(10)}  ${`${s(k.detectP50S)} / ${s(k.detectP99S)}`.padEnd(17)}  ${String(k.recovered).padStart(9)}  ${String(k.notRecovered).padStart(3)}  ${s(k.recoverP50S)} / ${s(k.recoverP99S)}`,
    ),
    '',
  ]
  return lines.join('\n')
}
