import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { invokeChannels } from '../../electron/ipcContract.ts'
import { registerIpcHandlers, type CoreClient, type CoreRequest, type IpcAnswer } from '../../electron/registerIpcHandlers.ts'
import { FakeFrame, FakeWebContents, fakeElectron } from '../support/fakeElectron.ts'

function setup() {
  const win = new FakeWebContents()
  win.mainFrame.url = 'app://gridmesh/index.html'
  const requests: CoreRequest[] = []
  const core: CoreClient = {
    request: async (r) => {
      requests.push(r)
      return { answered: r.kind }
    },
    subscribe: (onEvent, onStatus) => {
      onStatus({ state: 'online', reason: null })
      onEvent({ type: 'hello', site: { name: 's', timeZone: 'UTC', devices: [] } })
      return () => {}
    },
  }
  const sites = vi.fn(async () => ({ sites: [] }))
  const log: string[] = []
  const unregister = registerIpcHandlers({ ipcMain: fakeElectron.ipcMain as never, trusted: { windowIds: () => new Set([win.id]), appOrigin: 'app://gridmesh' }, core: () => core, sites, log: (m) => log.push(m) })
  const invoke = (channel: string, payload: unknown, contents = win, frame: FakeFrame | null = contents.mainFrame) => fakeElectron.invoke(channel, payload, contents, frame) as Promise<IpcAnswer>
  return { win, requests, sites, log, invoke, unregister }
}

const refused = (answer: IpcAnswer) => {
  if (answer.ok) throw new Error(`expected a refusal, got ${JSON.stringify(answer)}`)
  return answer.error
}

describe('registerIpcHandlers', () => {
  afterEach(() => fakeElectron.ipcMain.handlers.clear())

  it('registers exactly the contract channels, and the preload invokes exactly those', () => {
    const { unregister } = setup()
    expect([...fakeElectron.ipcMain.handlers.keys()].sort()).toEqual(Object.values(invokeChannels).sort())
    const preload = readFileSync(new URL('../../electron/preload.cts', import.meta.url), 'utf8')
    const used = new Set([...preload.matchAll(/invoke\('(gridmesh:[a-z]+)'/g)].map((m) => m[1]))
    expect([...used].sort()).toEqual(Object.values(invokeChannels).sort())
    unregister()
    expect(fakeElectron.ipcMain.handlers.size).toBe(0)
  })

  it('passes valid queries, downloads and commands to core, validated with the contract schemas', async () => {
    const { invoke, requests, unregister } = setup()
    expect(await invoke(invokeChannels.query, { path: 'state' })).toEqual({ ok: true, value: { answered: 'query' } })
    expect((await invoke(invokeChannels.query, { path: 'trend', params: { device: 'meter', point: 'W', fromMs: 0, toMs: 1000 } })).ok).toBe(true)
    expect((await invoke(invokeChannels.query, { path: 'commission/abc-1' })).ok).toBe(true)
    expect((await invoke(invokeChannels.download, { path: 'trend.csv', params: { fromMs: 0, toMs: 5 } })).ok).toBe(true)
    expect((await invoke(invokeChannels.command, { type: 'setMode', mode: 'auto' })).ok).toBe(true)
    expect(await invoke(invokeChannels.session, undefined)).toEqual({ ok: true, value: { user: { name: 'local', role: 'installer' }, via: 'ipc', expiresAtMs: null } })
    expect(requests.map((r) => r.kind)).toEqual(['query', 'query', 'query', 'download', 'command'])
    unregister()
  })

  it('refuses a bad payload on every channel with a reason naming the field, and core never sees it', async () => {
    const { invoke, requests, sites, unregister } = setup()
    const cases: [string, unknown, RegExp][] = [
      [invokeChannels.query, 'state', /query: \(top level\): expected object/],
      [invokeChannels.query, { path: 'state', extra: 1 }, /unknown field\(s\) 'extra'/],
      [invokeChannels.query, { path: '../../etc/passwd' }, /no such query/],
      [invokeChannels.query, { path: 'state', params: { x: '1' } }, /query state: .*unknown field\(s\) 'x'/],
      [invokeChannels.query, { path: 'trend', params: { device: 'm', point: 'W', fromMs: 5, toMs: 1 } }, /toMs: fromMs must be before toMs/],
      [invokeChannels.query, { path: 'alarms', params: { state: 'burning' } }, /state: expected one of/],
      [invokeChannels.download, { path: 'state' }, /no such download/],
      [invokeChannels.download, { path: 'trend.csv', params: { point: 'W', fromMs: 0, toMs: 1 } }, /a point needs its device/],
      [invokeChannels.command, { type: 'setMode', mode: 'manual' }, /setpointW: manual mode needs a battery setpoint/],
      [invokeChannels.command, { type: 'launchMissiles' }, /command: type: /],
      [invokeChannels.command, null, /command: .*expected object/],
      [invokeChannels.session, { name: 'root' }, /this channel takes no payload/],
      [invokeChannels.subscribe, 1, /this channel takes no payload/],
      [invokeChannels.unsubscribe, 'x', /this channel takes no payload/],
      [invokeChannels.sites, { action: 'rm -rf' }, /sites: action: /],
      [invokeChannels.sites, { action: 'openRecent', id: '../x' }, /id:/],
      [invokeChannels.prompt, { action: 'answer', id: 0, passphrase: 'p' }, /prompt: id: /],
      [invokeChannels.prompt, { action: 'answer', id: 1, passphrase: ['not', 'a', 'string'] }, /prompt: passphrase: expected a passphrase of 1 to 1024 characters \(what was sent is not shown\)$/],
      [invokeChannels.prompt, { action: 'answer', id: 1, passphrase: '' }, /prompt: passphrase: expected a passphrase/],
      [invokeChannels.prompt, { action: 'answer', id: 1, passphrase: 'p' }, /prompt: no open prompt 1/],
    ]
    for (const [channel, payload, reason] of cases) {
      const error = refused(await invoke(channel, payload))
      expect(error.status, `${channel} ${JSON.stringify(payload)}`).toBeGreaterThanOrEqual(400)
      expect(error.message, `${channel} ${JSON.stringify(payload)}`).toMatch(reason)
    }
    expect(requests).toEqual([])
    expect(sites).not.toHaveBeenCalled()
    unregister()
  })

  it('refuses untrusted senders with a reason: another webContents, a subframe, a foreign page, a gone frame, a file:// page', async () => {
    const { win, invoke, requests, log, unregister } = setup()
    const stranger = new FakeWebContents()
    stranger.mainFrame.url = 'app://gridmesh/index.html'
    const cases: [FakeWebContents, FakeFrame | null, RegExp][] = [
      [stranger, stranger.mainFrame, /is not a GridMesh window/],
      [win, new FakeFrame(win.mainFrame.processId, 7, 'app://gridmesh/frame.html'), /a subframe .* only the window's main frame/],
      [win, null, /the sending frame is gone/],
    ]
    for (const [contents, frame, reason] of cases) {
      const error = refused(await invoke(invokeChannels.command, { type: 'setMode', mode: 'auto' }, contents, frame))
      expect(error.status).toBe(403)
      expect(error.message).toMatch(reason)
    }
    for (const url of ['https://evil.example/', 'http://127.0.0.1:8700/', 'file:///tmp/evil.html', 'app://other/index.html', 'data:text/html,hi']) {
      win.mainFrame.url = url
      const error = refused(await invoke(invokeChannels.query, { path: 'state' }))
      expect(error.status, url).toBe(403)
      expect(error.message, url).toMatch(/is not the app's own page/)
    }
    expect(requests).toEqual([])
    expect(log.some((l) => l.includes('refused'))).toBe(true)
    unregister()
  })

  it('sends events and status only to subscribed windows, and stops on unsubscribe', async () => {
    const { win, invoke, unregister } = setup()
    expect(await invoke(invokeChannels.subscribe, undefined)).toEqual({ ok: true, value: { subscribed: true } })
    expect(win.sent.map((s) => s.channel)).toEqual(['gridmesh:status', 'gridmesh:event'])
    expect(await invoke(invokeChannels.unsubscribe, undefined)).toEqual({ ok: true, value: { subscribed: false } })
    unregister()
  })

  it('says no site is open (503) until core runs', async () => {
    const win = new FakeWebContents()
    win.mainFrame.url = 'app://gridmesh/index.html'
    const unregister = registerIpcHandlers({ ipcMain: fakeElectron.ipcMain as never, trusted: { windowIds: () => new Set([win.id]), appOrigin: 'app://gridmesh' }, core: () => null, sites: async () => null })
    const error = refused((await fakeElectron.invoke(invokeChannels.query, { path: 'state' }, win)) as IpcAnswer)
    expect(error).toMatchObject({ status: 503, message: expect.stringMatching(/no site is open/) })
    unregister()
  })
})
