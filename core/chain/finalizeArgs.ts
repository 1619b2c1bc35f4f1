import type { Finalization } from './buildFinalization.ts'

/** The arguments of EnergyMarket.finalize(): the one encoding of a finalization, for a sent transaction or an outbox's call data. */
export function finalizeArgs(f: Pick<Finalization, 'interval' | 'inputsHash' | 'releases'>) {
  return [f.interval, f.inputsHash, f.releases] as const
}
