import type { CycleReport } from '../transport/apiTypes.ts'
import type { FlowNodeId } from './flowDiagram.ts'

/** Which boxes of the flow diagram rest on a stale device: batteries and PV inverters by name, the rest (meters) on the grid box. */
export function staleNodes(cycle: CycleReport | null): FlowNodeId[] {
  if (!cycle) return []
  const out = new Set<FlowNodeId>()
  const batteries = new Set(cycle.snapshot.batteries.map((b) => b.name))
  const pvs = new Set((cycle.snapshot.pvInverters ?? []).map((p) => p.name))
  for (const d of cycle.devices) {
    if (!d.stale) continue
    out.add(batteries.has(d.name) ? 'battery' : pvs.has(d.name) ? 'pv' : 'grid')
  }
  if (cycle.snapshot.gridW == null) out.add('grid')
  if (cycle.snapshot.pvW == null) out.add('pv')
  if (out.has('grid') || out.has('pv') || out.has('battery')) out.add('load')
  return [...out]
}
