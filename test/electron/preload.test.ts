import { readFileSync } from 'node:fs'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

/** Runs the preload as Electron's sandbox would: CommonJS, `require` giving only 'electron' (here a recording stand-in). */
function loadPreload() {
  const source = readFileSync(new URL('../../electron/preload.cts', import.meta.url), 'utf8')
  const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText
  const exposed: Record<string, unknown> = {}
  const invoked: { channel: string; payload: unknown }[] = []
  const listeners = new Map<string, ((event: unknown, data: unknown) => void)[]>()
  const ipcRenderer = {
    invoke: async (channel: string, payload: unknown) => {
      invoked.push({ channel, payload })
      return { ok: true, value: null }
    },
    on: (channel: string, l: (event: unknown, data: unknown) => void) => listeners.set(channel, [...(listeners.get(channel) ?? []), l]),
    removeListener: (channel: string, l: unknown) => listeners.set(channel, (listeners.get(channel) ?? []).filter((x) => x !== l)),
  }
  const contextBridge = { exposeInMainWorld: (key: string, api: unknown) => (exposed[key] = api) }
  const required: string[] = []
  const require = (name: string) => {
    required.push(name)
    if (name !== 'electron') throw new Error(`a sandboxed preload cannot require ${name}`)
    return { contextBridge, ipcRenderer }
  }
  const module = { exports: {} }
  new Function('require', 'module', 'exports', js)(require, module, module.exports)
  return { exposed, invoked, listeners, required, ipcRenderer }
}

describe('preload', () => {
  it('is CommonJS that requires only electron, and exposes exactly the contract under window.gridmesh', () => {
    const { exposed, required } = loadPreload()
    expect(required).toEqual(['electron'])
    expect(Object.keys(exposed)).toEqual(['gridmesh'])
    const bridge = exposed.gridmesh as Record<string, unknown>
    expect(Object.keys(bridge).sort()).toEqual(['command', 'download', 'prompt', 'query', 'session', 'sites', 'subscribe'])
    for (const value of Object.values(bridge)) expect(typeof value).toBe('function')
  })

  it('never hands out ipcRenderer or an IPC event: each call is one invoke with plain data', async () => {
    const { exposed, invoked, listeners, ipcRenderer } = loadPreload()
    const bridge = exposed.gridmesh as Record<string, (...args: unknown[]) => unknown>
    for (const fn of Object.values(bridge)) expect(fn).not.toBe(ipcRenderer.invoke)
    await bridge.query!('trend', { device: 'm', point: 'W', fromMs: 0, toMs: 1 })
    await bridge.command!({ type: 'setMode', mode: 'auto' })
    await bridge.session!()
    expect(invoked).toEqual([
      { channel: 'gridmesh:query', payload: { path: 'trend', params: { device: 'm', point: 'W', fromMs: 0, toMs: 1 } } },
      { channel: 'gridmesh:command', payload: { type: 'setMode', mode: 'auto' } },
      { channel: 'gridmesh:session', payload: undefined },
    ])
    const got: unknown[][] = []
    const unsubscribe = bridge.subscribe!((...args: unknown[]) => got.push(args), () => {}) as () => void
    const senderEvent = { sender: ipcRenderer, ports: [] }
    listeners.get('gridmesh:event')![0]!(senderEvent, { type: 'cycle' })
    expect(got).toEqual([[{ type: 'cycle' }]])
    unsubscribe()
    expect(listeners.get('gridmesh:event')).toEqual([])
    expect(invoked.map((i) => i.channel)).toContain('gridmesh:unsubscribe')
  })
})
