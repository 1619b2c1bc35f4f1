import { IpcRequestError } from './IpcRequestError.ts'

/** The parts of an Electron IPC event the check reads (IpcMainInvokeEvent has them). */
export type IpcSenderEvent = {
  sender: { id: number; mainFrame: { processId: number; routingId: number } }
  senderFrame: { processId: number; routingId: number; url: string } | null
}

export type TrustedSenders = {
  /** The webContents ids of our own windows. */
  windowIds: () => ReadonlySet<number>
  /** Our own pages: `app://gridmesh` (the packaged renderer) and, when set, a file:// folder. */
  appOrigin: string
  fileRoot?: string
}

/**
 * Refuses an IPC message unless it comes from the main frame of one of our own windows
 * showing one of our own pages. A frame inside the page (an iframe, even same-origin), a
 * window we did not open, a page navigated elsewhere, or a frame already gone would
 * otherwise reach the site's commands with the owner's rights.
 */
export function checkIpcSender(event: IpcSenderEvent, trusted: TrustedSenders): void {
  const frame = event.senderFrame
  if (!frame) throw new IpcRequestError(403, 'ipc: refused: the sending frame is gone (navigated or destroyed)')
  if (!trusted.windowIds().has(event.sender.id)) throw new IpcRequestError(403, `ipc: refused: webContents ${event.sender.id} is not a GridMesh window`)
  const main = event.sender.mainFrame
  if (frame.processId !== main.processId || frame.routingId !== main.routingId) throw new IpcRequestError(403, `ipc: refused: a subframe (${originOf(frame.url)}) may not use the API; only the window's main frame`)
  let url: URL
  try {
    url = new URL(frame.url)
  } catch {
    throw new IpcRequestError(403, `ipc: refused: the sender's URL '${frame.url.slice(0, 100)}' is not a URL`)
  }
  if (url.origin === trusted.appOrigin || (url.protocol === 'app:' && `app://${url.host}` === trusted.appOrigin)) return
  if (url.protocol === 'file:' && trusted.fileRoot && decodeURIComponent(url.pathname).startsWith(trusted.fileRoot.endsWith('/') ? trusted.fileRoot : `${trusted.fileRoot}/`)) return
  throw new IpcRequestError(403, `ipc: refused: ${originOf(frame.url)} is not the app's own page (${trusted.appOrigin})`)
}

function originOf(text: string): string {
  try {
    const url = new URL(text)
    return url.protocol === 'file:' ? 'a file:// page' : `${url.protocol}//${url.host}`
  } catch {
    return 'an unknown origin'
  }
}
