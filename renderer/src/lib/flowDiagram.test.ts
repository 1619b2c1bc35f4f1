import { describe, expect, it } from 'vitest'
import { flowDiagram, type FlowEdge } from './flowDiagram.ts'

const edge = (edges: FlowEdge[], id: FlowEdge['id']) => edges.find((e) => e.id === id) as FlowEdge
const nodes = flowDiagram({ pvW: 0, batteryW: 0, gridW: 0, loadW: 0, marketW: null }).nodes
const box = (id: string) => nodes.find((n) => n.id === id)!
const bus = box('bus')
/** The arrow (x1,y1 -> x2,y2) ends nearer the `to` box than it starts. */
const pointsTo = (e: FlowEdge, to: string) => {
  const n = box(to)
  return Math.hypot(e.x2 - n.x, e.y2 - n.y) < Math.hypot(e.x1 - n.x, e.y1 - n.y)
}

describe('flowDiagram', () => {
  it('points every arrow the way power flows, by the site sign convention', () => {
    // Noon: PV 5 kW, battery charging 2 kW, exporting 1.5 kW, load 1.5 kW (load = pv + battery + grid).
    const { edges } = flowDiagram({ pvW: 5000, batteryW: -2000, gridW: -1500, loadW: 1500, marketW: 1000 })
    expect(pointsTo(edge(edges, 'pv'), 'bus')).toBe(true)
    expect(pointsTo(edge(edges, 'battery'), 'battery')).toBe(true)
    expect(pointsTo(edge(edges, 'grid'), 'grid')).toBe(true)
    expect(pointsTo(edge(edges, 'load'), 'load')).toBe(true)
    expect(pointsTo(edge(edges, 'market'), 'market')).toBe(true)
    // Evening: battery discharging, importing, buying on the market.
    const night = flowDiagram({ pvW: 0, batteryW: 1500, gridW: 800, loadW: 2300, marketW: -500 }).edges
    expect(pointsTo(edge(night, 'battery'), 'bus')).toBe(true)
    expect(pointsTo(edge(night, 'grid'), 'bus')).toBe(true)
    expect(pointsTo(edge(night, 'market'), 'grid')).toBe(true)
    expect(edge(night, 'pv').state).toBe('idle')
  })

  it('starts and ends lines on the box borders, not inside the boxes', () => {
    for (const e of flowDiagram({ pvW: 3000, batteryW: 1000, gridW: 500, loadW: 4500, marketW: 200 }).edges) {
      for (const [x, y] of [[e.x1, e.y1], [e.x2, e.y2]] as const) {
        const inside = nodes.filter((n) => Math.abs(x - n.x) < n.w / 2 - 0.01 && Math.abs(y - n.y) < n.h / 2 - 0.01)
        expect(inside, `${e.id} at ${x},${y}`).toEqual([])
      }
    }
    const pv = edge(flowDiagram({ pvW: 3000, batteryW: 0, gridW: 0, loadW: 3000, marketW: null }).edges, 'pv')
    expect(pv.y1).toBeCloseTo(box('pv').y + box('pv').h / 2)
    expect(pv.y2).toBeCloseTo(bus.y - bus.h / 2)
  })

  it('marks a missing reading unknown, a tiny one idle, and grows width with the square root of power up to the scale', () => {
    const { edges } = flowDiagram({ pvW: null, batteryW: 5, gridW: 100, loadW: 10_000, marketW: 40_000 }, 10_000)
    expect(edge(edges, 'pv').state).toBe('unknown')
    expect(edge(edges, 'battery').state).toBe('idle')
    expect(edge(edges, 'grid').width).toBeCloseTo(1.5 + 4.5 * 0.1)
    expect(edge(edges, 'load').width).toBeCloseTo(6)
    expect(edge(edges, 'market').width).toBeCloseTo(6)
  })

  it('keeps every box inside the view box', () => {
    for (const n of nodes) {
      expect(n.x - n.w / 2).toBeGreaterThanOrEqual(0)
      expect(n.x + n.w / 2).toBeLessThanOrEqual(640)
      expect(n.y - n.h / 2).toBeGreaterThanOrEqual(0)
      expect(n.y + n.h / 2).toBeLessThanOrEqual(340)
    }
  })
})
