import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { BrowserWindow } from 'electron'
import { appContentSecurityPolicy } from '../../electron/appContentSecurityPolicy.ts'
import { createMainWindow } from '../../electron/createMainWindow.ts'
import { serveAppFile } from '../../electron/serveAppFile.ts'
import { FakeBrowserWindow, fakeElectron } from '../support/fakeElectron.ts'

const open = (devTools: boolean, opened: string[] = []) => createMainWindow({ BrowserWindow: fakeElectron.BrowserWindow as unknown as typeof BrowserWindow, preload: '/app/electron/preload.cjs', page: '/index.html', devTools, openExternal: (u) => opened.push(u) }) as unknown as FakeBrowserWindow

describe('createMainWindow', () => {
  it('holds the hardened options: isolation, sandbox, no node, web security, our preload, devtools only when asked', () => {
    for (const devTools of [false, true]) {
      const prefs = open(devTools).options.webPreferences as Record<string, unknown>
      expect(prefs).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, nodeIntegrationInWorker: false, nodeIntegrationInSubFrames: false, webSecurity: true, allowRunningInsecureContent: false, webviewTag: false, preload: '/app/electron/preload.cjs', devTools })
    }
  })

  it('loads our own app:// page, no remote content', () => {
    expect(open(false).webContents.mainFrame.url).toBe('app://gridmesh/index.html')
  })

  it('blocks navigation and redirects away from the app, allows its own pages', () => {
    const win = open(false)
    expect(win.webContents.navigate('https://evil.example/')).toBe(false)
    expect(win.webContents.navigate('http://127.0.0.1:8700/', 'will-redirect')).toBe(false)
    expect(win.webContents.navigate('file:///etc/passwd')).toBe(false)
    expect(win.webContents.navigate('app://gridmesh/site-manager/index.html')).toBe(true)
  })

  it('denies window.open (https links go to the system browser, nothing else anywhere) and webviews', () => {
    const opened: string[] = []
    const win = open(false, opened)
    expect(win.webContents.windowOpenHandler!({ url: 'https://gridmesh.org/docs' })).toEqual({ action: 'deny' })
    expect(win.webContents.windowOpenHandler!({ url: 'javascript:alert(1)' })).toEqual({ action: 'deny' })
    expect(opened).toEqual(['https://gridmesh.org/docs'])
    let prevented = false
    win.webContents.emit('will-attach-webview', { preventDefault: () => (prevented = true) })
    expect(prevented).toBe(true)
  })

  it('denies every permission request and check', () => {
    const session = open(false).webContents.session
    for (const permission of ['media', 'geolocation', 'notifications', 'openExternal', 'clipboard-read']) {
      let granted: boolean | null = null
      session.permissionRequestHandler!(null, permission, (g) => (granted = g))
      expect(granted, permission).toBe(false)
    }
    expect(session.permissionCheckHandler!()).toBe(false)
    expect(session.devicePermissionHandler!()).toBe(false)
  })
})

describe('serveAppFile (the app:// protocol)', () => {
  const root = mkdtempSync(join(tmpdir(), 'gridmesh-app-'))
  mkdirSync(join(root, 'dist'))
  writeFileSync(join(root, 'dist', 'index.html'), '<!doctype html><title>hmi</title>')
  writeFileSync(join(root, 'secret.txt'), 'secret')
  symlinkSync(join(root, 'secret.txt'), join(root, 'dist', 'link.txt'))
  const roots = [{ prefix: '/', dir: join(root, 'dist') }]

  it('serves the built renderer with the strict CSP (no network, no inline script)', async () => {
    const res = await serveAppFile(new Request('app://gridmesh/'), roots)
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('<title>hmi</title>')
    expect(res.headers.get('content-security-policy')).toBe(appContentSecurityPolicy)
    expect(appContentSecurityPolicy).toMatch(/connect-src 'none'/)
    expect(appContentSecurityPolicy).toMatch(/script-src 'self';/)
    expect(appContentSecurityPolicy).not.toMatch(/unsafe/)
  })

  it('serves nothing outside its folder, on another host, or for another method', async () => {
    for (const url of ['app://gridmesh/../secret.txt', 'app://gridmesh/%2e%2e/secret.txt', 'app://gridmesh/..%2fsecret.txt', 'app://gridmesh/link.txt', 'app://gridmesh/nope.html', 'app://other/index.html']) {
      const res = await serveAppFile(new Request(url), roots)
      expect(res.status, url).toBe(404)
      expect(await res.text(), url).not.toContain('secret')
    }
    expect((await serveAppFile(new Request('app://gridmesh/index.html', { method: 'POST', body: 'x' }), roots)).status).toBe(405)
  })
})
