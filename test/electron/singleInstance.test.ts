import { describe, expect, it, vi } from 'vitest'
import { fakeElectron, FakeBrowserWindow } from '../support/fakeElectron.ts'

vi.mock('electron', async () => (await import('../support/fakeElectron.ts')).fakeElectron)

const { startDesktopApp } = await import('../../electron/startDesktopApp.ts')

describe('a second app instance', () => {
  it('does not start: it says so in one line and quits, opening no window and no core', () => {
    fakeElectron.app.singleInstance = false
    const lines: string[] = []
    expect(startDesktopApp({ rootDir: '/app', coreEntry: '/app/electron/coreProcess.js', preload: '/app/electron/preload.cjs', log: (l) => lines.push(l) })).toBeNull()
    expect(lines).toEqual([expect.stringMatching(/^GridMesh is already running: its window was brought to the front/)])
    expect(fakeElectron.app.quitCount).toBe(1)
    expect(FakeBrowserWindow.all).toEqual([])
    expect(fakeElectron.utilityProcess.started).toEqual([])
  })
})
