import type { BrowserWindow, BrowserWindowConstructorOptions, Session, WebContents } from 'electron'

/** The app's own origin: the built renderer is served from it (registerAppProtocol). */
export const appOrigin = 'app://gridmesh'

/**
 * The web preferences every GridMesh window gets: the page runs sandboxed with no Node,
 * isolated from the preload's world, with web security on, and reaches core only through
 * the preload's bridge. Devtools only in a development run.
 */
export function hardenedWebPreferences(preload: string, devTools: boolean): NonNullable<BrowserWindowConstructorOptions['webPreferences']> {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    spellcheck: false,
    devTools,
  }
}

export type CreateMainWindowParameters = {
  BrowserWindow: typeof BrowserWindow
  preload: string
  /** The page to show: a path under app://gridmesh (e.g. /index.html). */
  page: string
  devTools: boolean
  title?: string
  icon?: string
  /** Opened outside the app (the system browser) for http(s) links the user clicks; never in a window. */
  openExternal?: (url: string) => void
  log?: (message: string) => void
}

/**
 * One hardened window on an app:// page. Navigation away from the app's origin, new
 * windows, webviews and every permission request (camera, notifications, geolocation, …)
 * are refused, so no remote content ever runs with the bridge.
 */
export function createMainWindow({ BrowserWindow: Window, preload, page, devTools, title = 'GridMesh', icon, openExternal, log = () => {} }: CreateMainWindowParameters): BrowserWindow {
  const win = new Window({ width: 1280, height: 820, minWidth: 800, minHeight: 560, title, show: false, backgroundColor: '#0f172a', ...(icon && { icon }), webPreferences: hardenedWebPreferences(preload, devTools) })
  guardWebContents(win.webContents, { openExternal, log })
  win.once('ready-to-show', () => win.show())
  void win.loadURL(`${appOrigin}${page}`)
  return win
}

function isOwnUrl(url: string): boolean {
  try {
    return new URL(url).origin === appOrigin || url.startsWith(`${appOrigin}/`)
  } catch {
    return false
  }
}

/** Navigation, new windows, webviews and permissions refused for one webContents (and its session). */
export function guardWebContents(contents: WebContents, { openExternal, log = () => {} }: { openExternal?: ((url: string) => void) | undefined; log?: (message: string) => void }): void {
  contents.on('will-navigate', (event, url) => {
    if (isOwnUrl(url)) return
    event.preventDefault()
    log(`window: navigation to ${url.slice(0, 200)} refused`)
  })
  contents.on('will-redirect', (event, url) => {
    if (isOwnUrl(url)) return
    event.preventDefault()
    log(`window: redirect to ${url.slice(0, 200)} refused`)
  })
  contents.on('will-attach-webview', (event) => {
    event.preventDefault()
    log('window: a <webview> was refused')
  })
  contents.setWindowOpenHandler(({ url }) => {
    // A link to documentation opens in the system browser; nothing opens inside the app.
    if (openExternal && /^https:\/\//.test(url)) openExternal(url)
    log(`window: window.open(${url.slice(0, 200)}) refused`)
    return { action: 'deny' }
  })
  denyPermissions(contents.session)
}

function denyPermissions(session: Session): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false))
  session.setPermissionCheckHandler(() => false)
  session.setDevicePermissionHandler?.(() => false)
}
