import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import type { IpcAnswer } from '../../electron/registerIpcHandlers.ts'
import { fakeElectron, FakeBrowserWindow } from '../support/fakeElectron.ts'

vi.mock('electron', async () => (await import('../support/fakeElectron.ts')).fakeElectron)

const { startDesktopApp } = await import('../../electron/startDesktopApp.ts')

describe('opening a bad site from the desktop app', () => {
  it('a corrupt site file (--site, then the site manager): the window says what is wrong, no core starts, nothing is written', async () => {
    const userData = mkdtempSync(join(tmpdir(), 'gridmesh-desktop-bad-'))
    fakeElectron.app.userData = userData
    const bad = join(userData, 'bad-site.yaml')
    writeFileSync(bad, 'name: bad\ndevices:\n  - name: meter\n    unitId: 999\n')
    const desktop = startDesktopApp({ rootDir: '/app', coreEntry: '/nonexistent/coreProcess.js', preload: '/app/electron/preload.cjs', argv: ['electron', '.', '--site', bad], log: () => {} })!
    fakeElectron.ready()
    await vi.waitFor(() => expect(fakeElectron.dialog.messages.length).toBe(1), { timeout: 10_000 })
    expect(fakeElectron.dialog.messages[0]).toMatchObject({ type: 'error', message: expect.stringMatching(/bad-site\.yaml: not a usable site file: .*devices\[0\].*Nothing was opened or changed/) })
    const win = FakeBrowserWindow.all[0]!
    expect(win.webContents.mainFrame.url).toBe('app://gridmesh/site-manager/index.html')

    // The same file chosen in the site manager: the refusal comes back to the page with its reason.
    fakeElectron.dialog.nextOpen = bad
    const answer = (await fakeElectron.invoke('gridmesh:sites', { action: 'openFile' }, win.webContents)) as IpcAnswer
    expect(answer).toMatchObject({ ok: false, error: { message: expect.stringMatching(/not a usable site file/) } })
    expect(desktop.core()).toBeNull()
    expect(fakeElectron.utilityProcess.started).toEqual([])
    expect(readdirSync(userData)).toEqual(['bad-site.yaml'])
    expect(existsSync(join(userData, 'sites.json'))).toBe(false)
  })
})
