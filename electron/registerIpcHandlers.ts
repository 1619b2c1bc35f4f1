import type { ApiEvent, Command } from '../core/api/contract.ts'
import { BaseError } from '../core/errors/BaseError.ts'
import { checkIpcSender, type IpcSenderEvent, type TrustedSenders } from './checkIpcSender.ts'
import { createPassphrasePrompt, type PassphrasePrompt } from './createPassphrasePrompt.ts'
import { commandSchema, downloadRequestSchema, invokeChannels, noPayloadSchema, promptRequestSchema, pushChannels, queryRequestSchema, schemaForDownload, schemaForQuery, sitesRequestSchema, type SitesRequest } from './ipcContract.ts'
import { IpcRequestError } from './IpcRequestError.ts'
import { parseIpcPayload } from './parseIpcPayload.ts'

/** What main needs of the core process (electron/startCoreProcess.ts). */
export type CoreRequest = { kind: 'query' | 'download'; path: string; params: Record<string, string | number> } | { kind: 'command'; body: Command }
export type CoreStatus = { state: 'connecting' | 'online' | 'offline'; reason: string | null }
export type CoreClient = {
  request(request: CoreRequest): Promise<unknown>
  subscribe(onEvent: (event: ApiEvent) => void, onStatus: (status: CoreStatus) => void): () => void
}

/** Every answer over IPC: a value, or an error the renderer turns into its ApiError (status, name, message, field). */
export type IpcAnswer = { ok: true; value: unknown } | { ok: false; error: { status: number; name: string; message: string; field?: string } }

type WebContentsLike = { id: number; send(channel: string, ...args: unknown[]): void; isDestroyed(): boolean; once(event: 'destroyed', listener: () => void): void }
type IpcMainLike = { handle(channel: string, listener: (event: IpcSenderEvent & { sender: WebContentsLike }, payload: unknown) => Promise<IpcAnswer>): void; removeHandler(channel: string): void }

export type RegisterIpcHandlersParameters = {
  ipcMain: IpcMainLike
  trusted: TrustedSenders
  /** The running site's core, or null while none is open (the site manager shows). */
  core: () => CoreClient | null
  /** The site manager (first start). */
  sites: (request: SitesRequest) => Promise<unknown>
  /** The window's passphrase prompt (the key vault asks through it); default: one nobody raises. */
  prompt?: PassphrasePrompt
  log?: (message: string) => void
}

/**
 * Maps the API contract onto ipcMain: one handler per channel, each checking the sender
 * frame first (checkIpcSender) and then its payload against the contract's schemas
 * (ipcContract.ts), before anything reaches core. A refusal is answered, never thrown, so
 * the renderer sees its status and reason instead of Electron's generic invoke error.
 * Returns the unregister.
 */
export function registerIpcHandlers({ ipcMain, trusted, core, sites, prompt = createPassphrasePrompt(), log = () => {} }: RegisterIpcHandlersParameters): () => void {
  const subscribers = new Map<number, { contents: WebContentsLike; unsubscribe: () => void }>()
  const needCore = (): CoreClient => {
    const c = core()
    if (!c) throw new IpcRequestError(503, 'no site is open: open a site file, create one or start the demo in the site manager')
    return c
  }
  const handlers: Record<(typeof invokeChannels)[keyof typeof invokeChannels], (payload: unknown, sender: WebContentsLike) => Promise<unknown>> = {
    [invokeChannels.query]: async (payload) => {
      const { path, params = {} } = parseIpcPayload(queryRequestSchema, payload, 'query')
      const schema = schemaForQuery(path)
      if (!schema) throw new IpcRequestError(404, `query: no such query '${path.slice(0, 80)}'`, 'path')
      parseIpcPayload(schema, params, `query ${path}`)
      return needCore().request({ kind: 'query', path, params })
    },
    [invokeChannels.download]: async (payload) => {
      const { path, params = {} } = parseIpcPayload(downloadRequestSchema, payload, 'download')
      const schema = schemaForDownload(path)
      if (!schema) throw new IpcRequestError(404, `download: no such download '${path.slice(0, 80)}'`, 'path')
      parseIpcPayload(schema, params, `download ${path}`)
      return needCore().request({ kind: 'download', path, params })
    },
    [invokeChannels.command]: async (payload) => needCore().request({ kind: 'command', body: parseIpcPayload(commandSchema, payload, 'command') }),
    [invokeChannels.session]: async (payload) => {
      parseIpcPayload(noPayloadSchema, payload, 'session')
      // The desktop user is the site's local owner, as the api-token is on the command line.
      return { user: { name: 'local', role: 'installer' }, via: 'ipc', expiresAtMs: null }
    },
    [invokeChannels.subscribe]: async (payload, sender) => {
      parseIpcPayload(noPayloadSchema, payload, 'subscribe')
      if (subscribers.has(sender.id)) return { subscribed: true }
      const unsubscribe = needCore().subscribe(
        (event) => !sender.isDestroyed() && sender.send(pushChannels.event, event),
        (status) => !sender.isDestroyed() && sender.send(pushChannels.status, status),
      )
      subscribers.set(sender.id, { contents: sender, unsubscribe })
      sender.once('destroyed', () => drop(sender.id))
      return { subscribed: true }
    },
    [invokeChannels.unsubscribe]: async (payload, sender) => {
      parseIpcPayload(noPayloadSchema, payload, 'unsubscribe')
      drop(sender.id)
      return { subscribed: false }
    },
    [invokeChannels.sites]: async (payload) => sites(parseIpcPayload(sitesRequestSchema, payload, 'sites')),
    [invokeChannels.prompt]: async (payload) => {
      const request = parseIpcPayload(promptRequestSchema, payload, 'prompt')
      return request.action === 'next' ? prompt.next() : prompt.answer(request.id, request.passphrase)
    },
  }
  const drop = (id: number) => {
    subscribers.get(id)?.unsubscribe()
    subscribers.delete(id)
  }
  for (const [channel, handle] of Object.entries(handlers)) {
    ipcMain.handle(channel, async (event, payload): Promise<IpcAnswer> => {
      try {
        checkIpcSender(event, trusted)
        return { ok: true, value: await handle(payload, event.sender) }
      } catch (error) {
        const status = typeof (error as { status?: unknown }).status === 'number' ? (error as { status: number }).status : 500
        const e = error instanceof Error ? error : new Error(String(error))
        if (status === 403 || status >= 500) log(`${channel}: ${(e as BaseError).shortMessage ?? e.message}`)
        const field = (error as { field?: unknown }).field
        return { ok: false, error: { status, name: e.name, message: (e as BaseError).shortMessage ?? e.message, ...(typeof field === 'string' && { field }) } }
      }
    })
  }
  return () => {
    for (const channel of Object.keys(handlers)) ipcMain.removeHandler(channel)
    for (const id of [...subscribers.keys()]) drop(id)
  }
}
