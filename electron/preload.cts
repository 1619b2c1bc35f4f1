// The bridge between the sandboxed page and main: exactly the API contract (queries,
// commands, downloads, the session, the event stream), the site manager's requests and the
// passphrase prompt, each as one ipcRenderer.invoke on its channel. The page never gets ipcRenderer, an
// IpcRendererEvent or any other Electron object. CommonJS, since a sandboxed preload
// cannot load ES modules, and self-contained (a sandboxed preload can require only
// 'electron'): the channel names repeat electron/ipcContract.ts, and a test holds them equal.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a sandboxed preload is CommonJS: require is the only import it has
import electron = require('electron')

const { contextBridge, ipcRenderer } = electron

type Answer = { ok: true; value: unknown } | { ok: false; error: { status: number; name: string; message: string; field?: string } }
type Params = Record<string, string | number>

const invoke = (channel: string, payload?: unknown): Promise<Answer> => ipcRenderer.invoke(channel, payload) as Promise<Answer>

const bridge = {
  query: (path: string, params?: Params) => invoke('gridmesh:query', params === undefined ? { path } : { path, params }),
  command: (command: unknown) => invoke('gridmesh:command', command),
  download: (path: string, params?: Params) => invoke('gridmesh:download', params === undefined ? { path } : { path, params }),
  session: () => invoke('gridmesh:session'),
  sites: (request: unknown) => invoke('gridmesh:sites', request),
  /** The passphrase prompt: { action: 'next' } waits for one; { action: 'answer', id, passphrase } answers it (null: cancel). */
  prompt: (request: unknown) => invoke('gridmesh:prompt', request),
  /** The event stream: events and connection status as plain data; returns the unsubscribe. */
  subscribe(onEvent: (event: unknown) => void, onStatus: (status: unknown) => void): () => void {
    const eventListener = (_e: unknown, event: unknown) => onEvent(event)
    const statusListener = (_e: unknown, status: unknown) => onStatus(status)
    ipcRenderer.on('gridmesh:event', eventListener)
    ipcRenderer.on('gridmesh:status', statusListener)
    void invoke('gridmesh:subscribe').then((answer) => {
      if (!answer.ok) onStatus({ state: 'offline', reason: answer.error.message })
    })
    return () => {
      ipcRenderer.removeListener('gridmesh:event', eventListener)
      ipcRenderer.removeListener('gridmesh:status', statusListener)
      void invoke('gridmesh:unsubscribe')
    }
  },
}

contextBridge.exposeInMainWorld('gridmesh', bridge)
