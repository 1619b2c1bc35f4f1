// Geometry of the overview's single-line diagram, kept pure so it is tested without a
// browser: where each box sits, which way each line's arrow points, how thick it is.

export type FlowInput = {
  pvW: number | null
  /** > 0 discharge (battery feeds the bus). */
  batteryW: number | null
  /** > 0 import (grid feeds the bus). */
  gridW: number | null
  loadW: number | null
  /** This interval's market position, > 0 sold (leaves through the grid), < 0 bought; null: no market. */
  marketW: number | null
}

export type FlowNodeId = 'pv' | 'battery' | 'grid' | 'load' | 'market' | 'bus'
export type FlowNode = { id: FlowNodeId; x: number; y: number; w: number; h: number }
export type FlowEdge = {
  id: 'pv' | 'battery' | 'grid' | 'load' | 'market'
  /** The line drawn from where power comes from to where it goes (so the arrow head sits at x2,y2). */
  x1: number
  y1: number
  x2: number
  y2: number
  powerW: number | null
  /** 'idle' below the idle threshold, 'unknown' without a reading. */
  state: 'flowing' | 'idle' | 'unknown'
  /** Stroke width in px, growing with the square root of power (a 10 kW flow is not 100 times a 100 W one). */
  width: number
}

export const flowViewBox = { w: 640, h: 340 }
const idleW = 10
const box = { w: 180, h: 64 }

const nodes: FlowNode[] = [
  { id: 'pv', x: 320, y: 50, ...box },
  { id: 'battery', x: 320, y: 290, ...box },
  { id: 'grid', x: 100, y: 170, ...box },
  { id: 'load', x: 540, y: 170, ...box },
  { id: 'market', x: 100, y: 50, ...box },
  { id: 'bus', x: 320, y: 170, w: 14, h: 14 },
]

const node = (id: FlowNodeId) => nodes.find((n) => n.id === id) as FlowNode

/** Where the straight line from a's centre towards b leaves a's box. */
function boxExit(a: FlowNode, b: FlowNode): { x: number; y: number } {
  const dx = b.x - a.x
  const dy = b.y - a.y
  if (dx === 0 && dy === 0) return { x: a.x, y: a.y }
  const tx = dx === 0 ? Infinity : a.w / 2 / Math.abs(dx)
  const ty = dy === 0 ? Infinity : a.h / 2 / Math.abs(dy)
  const t = Math.min(tx, ty)
  return { x: a.x + dx * t, y: a.y + dy * t }
}

/** The diagram for one snapshot: fixed boxes, and per connection a line pointing the way power flows now. */
export function flowDiagram(input: FlowInput, scaleW = 10_000): { nodes: FlowNode[]; edges: FlowEdge[] } {
  // Each connection with its "positive" direction: the sign convention of its reading.
  const links: { id: FlowEdge['id']; source: FlowNodeId; sink: FlowNodeId; w: number | null }[] = [
    { id: 'pv', source: 'pv', sink: 'bus', w: input.pvW },
    { id: 'battery', source: 'battery', sink: 'bus', w: input.batteryW },
    { id: 'grid', source: 'grid', sink: 'bus', w: input.gridW },
    { id: 'load', source: 'bus', sink: 'load', w: input.loadW },
    { id: 'market', source: 'grid', sink: 'market', w: input.marketW },
  ]
  const edges = links.map(({ id, source, sink, w }): FlowEdge => {
    const reverse = w != null && w < 0
    const from = node(reverse ? sink : source)
    const to = node(reverse ? source : sink)
    const p1 = boxExit(from, to)
    const p2 = boxExit(to, from)
    const a = w == null ? null : Math.abs(w)
    const state = a == null ? 'unknown' : a < idleW ? 'idle' : 'flowing'
    const width = state === 'flowing' ? 1.5 + 4.5 * Math.sqrt(Math.min(1, (a as number) / scaleW)) : 1.5
    return { id, x1: p1.x, y1: p1.y, x2: p2.x, y2: p2.y, powerW: w, state, width }
  })
  return { nodes, edges }
}
