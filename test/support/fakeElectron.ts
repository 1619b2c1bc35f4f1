// The one fake of the `electron` module for main-process tests (vi.mock('electron', ...)
// in each test file points here). It records what main asks of Electron (window options,
// handlers, protocol, menu, dialogs) and lets a test play Electron's part: fire app
// events, invoke an IPC channel as a given frame, quit. utilityProcess.fork starts a real
// Node child (through tsx), so the core process and its children are real processes.
import { fork as forkNode, type ChildProcess } from 'node:child_process'
import { EventEmitter } from 'node:events'

type Handler = (event: unknown, payload: unknown) => Promise<unknown>

let nextContentsId = 1

export class FakeFrame {
  constructor(
    public processId: number,
    public routingId: number,
    public url: string,
  ) {}
}

export class FakeSession {
  permissionRequestHandler: ((contents: unknown, permission: string, callback: (granted: boolean) => void) => void) | null = null
  permissionCheckHandler: (() => boolean) | null = null
  devicePermissionHandler: (() => boolean) | null = null
  setPermissionRequestHandler(h: FakeSession['permissionRequestHandler']) {
    this.permissionRequestHandler = h
  }
  setPermissionCheckHandler(h: FakeSession['permissionCheckHandler']) {
    this.permissionCheckHandler = h
  }
  setDevicePermissionHandler(h: FakeSession['devicePermissionHandler']) {
    this.devicePermissionHandler = h
  }
}

export class FakeWebContents extends EventEmitter {
  id = nextContentsId++
  mainFrame = new FakeFrame(100 + this.id, 1, 'about:blank')
  session = new FakeSession()
  sent: { channel: string; args: unknown[] }[] = []
  windowOpenHandler: ((details: { url: string }) => { action: 'deny' | 'allow' }) | null = null
  destroyed = false
  setWindowOpenHandler(h: FakeWebContents['windowOpenHandler']) {
    this.windowOpenHandler = h
  }
  send(channel: string, ...args: unknown[]) {
    this.sent.push({ channel, args })
  }
  isDestroyed() {
    return this.destroyed
  }
  /** A navigation attempt as Electron reports it; true when main let it happen. */
  navigate(url: string, kind: 'will-navigate' | 'will-redirect' = 'will-navigate'): boolean {
    let prevented = false
    this.emit(kind, { preventDefault: () => (prevented = true) }, url)
    if (!prevented) this.mainFrame.url = url
    return !prevented
  }
}

export class FakeBrowserWindow extends EventEmitter {
  static all: FakeBrowserWindow[] = []
  webContents = new FakeWebContents()
  title = ''
  focused = 0
  minimized = false
  destroyed = false
  constructor(public options: Record<string, unknown>) {
    super()
    FakeBrowserWindow.all.push(this)
  }
  loadURL(url: string) {
    this.webContents.mainFrame.url = url
    return Promise.resolve()
  }
  setTitle(t: string) {
    this.title = t
  }
  show() {}
  focus() {
    this.focused++
  }
  isMinimized() {
    return this.minimized
  }
  restore() {
    this.minimized = false
  }
  isDestroyed() {
    return this.destroyed
  }
  static fromWebContents(contents: unknown) {
    return FakeBrowserWindow.all.find((w) => w.webContents === contents) ?? null
  }
}

export type FakeUtilityProcess = EventEmitter & { pid: number | undefined; child: ChildProcess; postMessage(message: unknown): void; kill(): boolean }

function createFake() {
  const handlers = new Map<string, Handler>()
  let resolveReady: () => void = () => {}
  const ready = new Promise<void>((r) => (resolveReady = r))
  const app = Object.assign(new EventEmitter(), {
    isPackaged: false,
    singleInstance: true,
    userData: '/nonexistent',
    quitCount: 0,
    exited: false,
    requestSingleInstanceLock: () => fake.app.singleInstance,
    whenReady: () => ready,
    getPath: (name: string) => (name === 'userData' ? fake.app.userData : `/tmp/fake-${name}`),
    quit() {
      fake.app.quitCount++
      let prevented = false
      fake.app.emit('before-quit', { preventDefault: () => (prevented = true) })
      if (!prevented) {
        fake.app.exited = true
        fake.app.emit('quit')
      }
    },
  })
  const fake = {
    app,
    ready: () => resolveReady(),
    BrowserWindow: FakeBrowserWindow,
    ipcMain: {
      handlers,
      handle: (channel: string, h: Handler) => {
        if (handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`)
        handlers.set(channel, h)
      },
      removeHandler: (channel: string) => handlers.delete(channel),
    },
    /** Invokes a channel as `frame` of `contents` would (default: its main frame), as ipcRenderer.invoke does. */
    invoke(channel: string, payload: unknown, contents: FakeWebContents, frame: FakeFrame | null = contents.mainFrame) {
      const h = handlers.get(channel)
      if (!h) throw new Error(`no handler for ${channel}`)
      return h({ sender: contents, senderFrame: frame }, payload)
    },
    protocol: {
      privileged: [] as unknown[],
      handlers: new Map<string, (request: Request) => Promise<Response> | Response>(),
      registerSchemesAsPrivileged: (schemes: unknown[]) => fake.protocol.privileged.push(...schemes),
      handle: (scheme: string, h: (request: Request) => Promise<Response>) => fake.protocol.handlers.set(scheme, h),
    },
    Menu: { applied: null as unknown, buildFromTemplate: (template: unknown) => ({ template }), setApplicationMenu: (menu: unknown) => (fake.Menu.applied = menu) },
    dialog: {
      messages: [] as { type?: string; message: string }[],
      nextOpen: null as string | null,
      showOpenDialog: async () => (fake.dialog.nextOpen ? { canceled: false, filePaths: [fake.dialog.nextOpen] } : { canceled: true, filePaths: [] }),
      showMessageBox: async (_win: unknown, options: { type?: string; message: string }) => {
        fake.dialog.messages.push(options)
        return { response: 0 }
      },
    },
    shell: { opened: [] as string[], openExternal: async (url: string) => void fake.shell.opened.push(url) },
    safeStorage: {
      available: true,
      isEncryptionAvailable: () => fake.safeStorage.available,
      // A stand-in cipher: reversible, and refusing what it did not make (as the OS keychain does).
      encryptString: (text: string) => Buffer.concat([Buffer.from('FAKESEAL'), Buffer.from(text, 'utf8').map((b) => b ^ 0x5a)]),
      decryptString: (data: Buffer) => {
        if (!data.subarray(0, 8).equals(Buffer.from('FAKESEAL'))) throw new Error('Error while decrypting the ciphertext provided to safeStorage.decryptString.')
        return Buffer.from(data.subarray(8).map((b) => b ^ 0x5a)).toString('utf8')
      },
    },
    utilityProcess: {
      started: [] as FakeUtilityProcess[],
      fork(entry: string, args: string[] = []): FakeUtilityProcess {
        // TypeScript entries run through tsx; a built .js entry runs on plain Node, as in the packaged app.
        const child = forkNode(entry, args, { execArgv: entry.endsWith('.ts') ? ['--import', 'tsx'] : [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
        const proc = Object.assign(new EventEmitter(), {
          pid: child.pid,
          child,
          postMessage: (message: unknown) => {
            if (child.connected) child.send(message as never)
          },
          kill: () => child.kill('SIGKILL'),
        })
        child.on('message', (m) => proc.emit('message', m))
        child.on('exit', (code, signal) => proc.emit('exit', code ?? (signal ? 1 : 0)))
        fake.utilityProcess.started.push(proc)
        return proc
      },
    },
  }
  return fake
}

export type FakeElectron = ReturnType<typeof createFake>

/** The one instance the mocked module hands out; a test file gets a fresh one (vitest isolates files). */
export const fakeElectron: FakeElectron = createFake()
