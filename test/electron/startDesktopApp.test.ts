import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it, vi } from 'vitest'
import type { IpcAnswer } from '../../electron/registerIpcHandlers.ts'
import { fakeElectron, FakeBrowserWindow } from '../support/fakeElectron.ts'

vi.mock('electron', async () => (await import('../support/fakeElectron.ts')).fakeElectron)

const { startDesktopApp } = await import('../../electron/startDesktopApp.ts')

const repo = fileURLToPath(new URL('../../', import.meta.url))

/** Every running process (pid -> parent pid), from the process table; a zombie (exited, waiting for this container's init to reap it) is not running. */
function processTable(): Map<number, number> {
  const out = execFileSync('ps', ['-eo', 'pid=,ppid=,stat='], { encoding: 'utf8' })
  const rows = out.trim().split('\n').map((l) => l.trim().split(/\s+/))
  return new Map(rows.filter((r) => !r[2]!.startsWith('Z')).map((r) => [Number(r[0]), Number(r[1])] as [number, number]))
}
const commandLines = (pids: number[]) => (pids.length ? execFileSync('ps', ['-o', 'args=', '-p', pids.join(',')], { encoding: 'utf8' }).trim().split('\n') : [])
function descendants(root: number, table = processTable()): number[] {
  const found: number[] = []
  const walk = (pid: number) => {
    for (const [child, parent] of table) {
      if (parent !== pid || found.includes(child)) continue
      found.push(child)
      walk(child)
    }
  }
  walk(root)
  return found
}

describe('startDesktopApp (electron faked)', () => {
  it('opens the demo (gridmesh demo\'s composition: simulator, site, market peers on anvil) with core in its own process, answers the contract over IPC, and a quit leaves no process behind', async () => {
    fakeElectron.app.userData = mkdtempSync(join(tmpdir(), 'gridmesh-desktop-'))
    // As a packaged build: no devtools, in the window or the menu.
    fakeElectron.app.isPackaged = true
    const lines: string[] = []
    // The demo's devices on free ports (another demo on this machine must not make the test fail), a day of history instead of a week; its 2 market peers as the app runs them.
    const desktop = startDesktopApp({ demo: { freePorts: true, historyDays: 1 }, rootDir: repo, coreEntry: join(repo, 'electron', 'coreProcess.ts'), preload: join(repo, 'electron', 'preload.cjs'), argv: ['electron', '.', '--demo'], log: (l) => lines.push(l) })!
    expect(fakeElectron.protocol.privileged).toEqual([{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } }])
    fakeElectron.ready()
    await vi.waitFor(() => expect(desktop.core()).not.toBeNull(), { timeout: 200_000, interval: 200 })
    const win = FakeBrowserWindow.all[0]!
    expect(win.webContents.mainFrame.url).toBe('app://gridmesh/index.html')
    expect((win.options.webPreferences as { devTools: boolean }).devTools).toBe(false)
    expect(JSON.stringify(fakeElectron.Menu.applied)).not.toMatch(/toggleDevTools/)
    expect(JSON.stringify(fakeElectron.Menu.applied)).toMatch(/Start the demo microgrid/)
    expect(fakeElectron.protocol.handlers.has('app')).toBe(true)

    // The window's queries reach the site service in the core process, through the same API.
    const state = (await fakeElectron.invoke('gridmesh:query', { path: 'state' }, win.webContents)) as IpcAnswer
    expect(state).toMatchObject({ ok: true, value: { site: { name: 'demo' } } })
    const refused = (await fakeElectron.invoke('gridmesh:command', { type: 'setMode', mode: 'manual', setpointW: 1000 }, win.webContents)) as IpcAnswer
    expect(refused).toMatchObject({ ok: false, error: { status: 400, field: 'expiresInMs' } })
    const mode = (await fakeElectron.invoke('gridmesh:command', { type: 'setMode', mode: 'self-consumption' }, win.webContents)) as IpcAnswer
    expect(mode).toMatchObject({ ok: true, value: { type: 'setMode', mode: { mode: 'self-consumption' } } })
    const audit = (await fakeElectron.invoke('gridmesh:query', { path: 'audit' }, win.webContents)) as IpcAnswer
    // In process through the API's dispatch, not loopback HTTP with the owner's token: the audit says 'ipc'.
    expect(audit).toMatchObject({ ok: true, value: { entries: [{ command: 'setMode', who: 'local', via: 'ipc', outcome: 'ok' }] } })
    const csv = (await fakeElectron.invoke('gridmesh:download', { path: 'trend.csv', params: { device: 'meter1', fromMs: 0, toMs: Date.parse('2014-01-01T00:00:00Z') } }, win.webContents)) as IpcAnswer
    expect(csv).toMatchObject({ ok: true, value: { contentType: 'text/csv; charset=utf-8', filename: expect.stringMatching(/^demo-meter1-.*\.csv$/), text: expect.stringMatching(/^time,device,point,/) } })

    // The core process and what the demo started are real processes: the site's simulator, and once
    // the market is up, anvil and the 2 peer sites (each with its own simulator).
    const core = desktop.core()!
    const corePid = fakeElectron.utilityProcess.started[0]!.pid!
    expect(core.pids()[0]).toBe(corePid)
    await vi.waitFor(
      () => {
        const below = commandLines(descendants(corePid))
        const market = lines.filter((l) => l.startsWith('market')).join('\n')
        expect(below.filter((a) => /[/\\]anvil(\.exe)? /.test(a)), market).toHaveLength(1)
        expect(below.filter((a) => / serve --site .* --sim-clock/.test(a)), market).toHaveLength(2)
        expect(below.filter((a) => / sim --site /.test(a)).length).toBeGreaterThanOrEqual(3)
      },
      { timeout: 200_000, interval: 1000 },
    )
    const started = [corePid, ...descendants(corePid)]
    // main has seen them in the process table too, so a crash of core would not leave them behind
    await vi.waitFor(() => expect(started.filter((pid) => !core.pids().includes(pid))).toEqual([]), { timeout: 15_000, interval: 500 })

    // A second start: refused there, and the first window comes forward and says so.
    fakeElectron.app.emit('second-instance')
    expect(win.focused).toBe(1)
    expect(fakeElectron.dialog.messages.at(-1)?.message).toMatch(/already open: this is its window/)

    fakeElectron.app.quit()
    expect(fakeElectron.app.exited).toBe(false)
    await desktop.quitting()
    expect(fakeElectron.app.exited).toBe(true)
    const table = processTable()
    const left = started.filter((pid) => table.has(pid))
    expect(left.length ? execFileSync('ps', ['-o', 'pid,ppid,stat,args', '-p', left.join(',')], { encoding: 'utf8' }) : '').toBe('')
    // The site's data folder holds the store: nothing was lost on the way out.
    expect(existsSync(join(fakeElectron.app.userData, 'sites', 'demo', 'gridmesh.db'))).toBe(true)
  }, 480_000)
})
