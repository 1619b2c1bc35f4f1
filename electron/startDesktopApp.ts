import { join } from 'node:path'
import { app, BrowserWindow, dialog, ipcMain, Menu, protocol, safeStorage, shell, utilityProcess, type MenuItemConstructorOptions } from 'electron'
import type { ScryptParameters } from '../core/chain/keystore.ts'
import { loadSiteFile } from '../core/devices/site/loadSiteFile.ts'
import type { BaseError } from '../core/errors/BaseError.ts'
import type { CoreSiteChoice, DemoOptions } from './coreMessages.ts'
import { appOrigin, createMainWindow } from './createMainWindow.ts'
import { createPassphrasePrompt } from './createPassphrasePrompt.ts'
import { createSiteManager } from './createSiteManager.ts'
import { openMarketKeys } from './openMarketKeys.ts'
import { registerIpcHandlers } from './registerIpcHandlers.ts'
import { serveAppFile } from './serveAppFile.ts'
import { startCoreProcess, type CoreProcess } from './startCoreProcess.ts'

export type StartDesktopAppParameters = {
  /** The built app's root (dist/): renderer/dist, electron/pages and electron/*.js under it. */
  rootDir: string
  /** The core process's entry and the preload, built. */
  coreEntry: string
  preload: string
  argv?: string[]
  /** How `--demo` and the site manager's demo run (tests: free ports, a shorter history); default `gridmesh demo`'s. */
  demo?: DemoOptions
  /** The key vault's scrypt cost (tests: a cheap one); default the keystore's. */
  scrypt?: ScryptParameters
  log?: (line: string) => void
}

export type DesktopApp = {
  /** The running core, if a site is open. */
  core(): CoreProcess | null
  window(): BrowserWindow | null
  /** Resolves once everything the app started has stopped. */
  quitting(): Promise<void> | null
}

const sitePage = '/index.html'
const managerPage = '/site-manager/index.html'

/**
 * The desktop app's main process: one instance (a second one focuses the first and says
 * so), the app:// protocol serving the built HMI with its CSP, one hardened window and the
 * menu, the API contract on IPC, and core in a utility process. First start shows the site
 * manager; `--demo` or `--site FILE` open a site at once. Quitting stops the core process
 * and everything it started before the app exits.
 */
export function startDesktopApp({ rootDir, coreEntry, preload, demo, scrypt, argv = process.argv, log = (line) => process.stderr.write(`${line}\n`) }: StartDesktopAppParameters): DesktopApp | null {
  // Registered before ready: app:// behaves as a standard, secure origin (fetch, CSP 'self').
  protocol.registerSchemesAsPrivileged([{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } }])
  if (!app.requestSingleInstanceLock()) {
    log('GridMesh is already running: its window was brought to the front (one app per machine, since two would command the same devices)')
    app.quit()
    return null
  }
  const devTools = !app.isPackaged
  let win: BrowserWindow | null = null
  let core: CoreProcess | null = null
  let stopping: Promise<void> | null = null
  let notice: string | null = null

  let shown = managerPage
  const showPage = (page: string) => {
    shown = page
    void win?.loadURL(`${appOrigin}${page}`)
  }
  // The key vault asks here; the site manager page shows the prompt (brought up if the HMI shows).
  const prompt = createPassphrasePrompt({
    reveal: () => {
      if (shown !== managerPage) showPage(managerPage)
    },
  })
  const openSite = async (choice: CoreSiteChoice, name: string) => {
    // A site with a market section gets its keys first: one that cannot be unsealed stops the open while the old site still runs.
    if (choice.kind === 'file' && loadSiteFile(choice.file).market) choice = { ...choice, marketKeys: await openMarketKeys({ dataDir: choice.dataDir, safeStorage, askPassphrase: (request) => prompt.ask(request), ...(scrypt && { scrypt }), log }) }
    if (core) {
      const old = core
      core = null
      await old.stop()
    }
    log(`opening ${name} (data in ${choice.dataDir})`)
    core = await startCoreProcess({ fork: (entry) => utilityProcess.fork(entry, [], { serviceName: 'GridMesh core', stdio: 'inherit' }), entry: coreEntry, site: choice, log })
    win?.setTitle(`GridMesh: ${name}`)
    showPage(sitePage)
  }
  const manager = createSiteManager({
    userDataDir: app.getPath('userData'),
    chooseSiteFile: async () => {
      const answer = await dialog.showOpenDialog({ title: 'Open a GridMesh site file', properties: ['openFile'], filters: [{ name: 'Site files', extensions: ['yaml', 'yml', 'json'] }] })
      return answer.canceled ? null : (answer.filePaths[0] ?? null)
    },
    open: openSite,
    ...(demo && { demo }),
  })

  app.on('second-instance', () => {
    if (!win) return
    if (win.isMinimized()) win.restore()
    win.focus()
    notice = 'GridMesh is already open: this is its window (a second start was refused, since two apps would command the same devices).'
    void dialog.showMessageBox(win, { type: 'info', title: 'GridMesh', message: notice })
  })
  app.on('web-contents-created', (_event, contents) => {
    // Any webContents at all (a devtools or a future window) gets the same guards.
    contents.on('will-attach-webview', (e) => e.preventDefault())
    contents.setWindowOpenHandler(() => ({ action: 'deny' }))
  })

  const roots = [
    { prefix: '/site-manager/', dir: join(rootDir, 'electron', 'pages', 'site-manager') },
    { prefix: '/', dir: join(rootDir, 'renderer', 'dist') },
  ]
  void app.whenReady().then(async () => {
    protocol.handle('app', (request) => serveAppFile(request, roots))
    Menu.setApplicationMenu(Menu.buildFromTemplate(menuTemplate({ devTools, openManager: () => showPage(managerPage), startDemo: () => void manager.handle({ action: 'startDemo' }).catch(report), quit: () => app.quit() })))
    registerIpcHandlers({ ipcMain, trusted: { windowIds: () => new Set(win && !win.isDestroyed() ? [win.webContents.id] : []), appOrigin }, core: () => core, sites: (request) => manager.handle(request), prompt, log })
    win = createMainWindow({ BrowserWindow, preload, page: managerPage, devTools, openExternal: (url) => void shell.openExternal(url), log })
    win.on('closed', () => {
      win = null
      // Nobody is left to answer: the open that asked fails as cancelled.
      prompt.cancelAll()
    })
    const siteFlag = argv.indexOf('--site')
    if (argv.includes('--demo')) await manager.handle({ action: 'startDemo' }).catch(report)
    else if (siteFlag >= 0 && argv[siteFlag + 1]) await manager.openPath(argv[siteFlag + 1]!).catch(report)
  })
  const report = (error: unknown) => {
    const message = (error as BaseError).shortMessage ?? (error as Error).message
    log(`cannot open the site: ${message}`)
    if (win) void dialog.showMessageBox(win, { type: 'error', title: 'GridMesh', message })
  }

  app.on('window-all-closed', () => app.quit())
  app.on('before-quit', (event) => {
    prompt.cancelAll()
    if (!core) return
    // Hold the quit until core, the simulator and whatever else it started are gone.
    event.preventDefault()
    const running = core
    core = null
    stopping = running.stop().finally(() => app.quit())
  })
  return { core: () => core, window: () => win, quitting: () => stopping }
}

function menuTemplate({ devTools, openManager, startDemo, quit }: { devTools: boolean; openManager: () => void; startDemo: () => void; quit: () => void }): MenuItemConstructorOptions[] {
  return [
    {
      label: 'File',
      submenu: [{ label: 'Sites…', accelerator: 'CmdOrCtrl+O', click: openManager }, { label: 'Start the demo microgrid', click: startDemo }, { type: 'separator' }, { label: 'Quit', accelerator: 'CmdOrCtrl+Q', click: quit }],
    },
    { label: 'Edit', submenu: [{ role: 'undo' }, { role: 'redo' }, { type: 'separator' }, { role: 'cut' }, { role: 'copy' }, { role: 'paste' }, { role: 'selectAll' }] },
    { label: 'View', submenu: [{ role: 'reload' }, { role: 'resetZoom' }, { role: 'zoomIn' }, { role: 'zoomOut' }, { type: 'separator' }, { role: 'togglefullscreen' }, ...(devTools ? [{ role: 'toggleDevTools' } as const] : [])] },
    { role: 'windowMenu' },
  ]
}
