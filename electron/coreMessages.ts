// The messages between main and the core process (electron/coreProcess.ts): data only.
import type { ApiEvent } from '../core/api/contract.ts'
import type { StartDemoOptions } from '../core/demo/startDemo.ts'
import type { CoreRequest, CoreStatus } from './registerIpcHandlers.ts'

export type CoreSiteChoice = ({ kind: 'demo'; dataDir: string } & DemoOptions) | { kind: 'file'; file: string; dataDir: string; /** A site with a market section: its keys, unsealed by main (electron/openMarketKeys.ts). */ marketKeys?: { site: `0x${string}`; operator: `0x${string}` } }
export type CoreStartMessage = { type: 'start'; site: CoreSiteChoice }
export type CoreRequestMessage = { type: 'request'; id: number; request: CoreRequest }
export type CoreStopMessage = { type: 'stop' }
export type CoreErrorInfo = { name: string; message: string; details: string | null }

/** How the demo runs (core/demo/startDemo.ts's options; the app uses their defaults: `gridmesh demo`'s). */
export type DemoOptions = Partial<Pick<StartDemoOptions, 'speed' | 'seed' | 'peers' | 'historyDays' | 'freePorts'>>

/** From the core process to main. */
export type CoreMessage =
  | { type: 'ready'; pid: number }
  | { type: 'child'; pid: number; what: string }
  | { type: 'started'; apiUrl: string; signInUrl: string; site: { name: string; dataDir: string } }
  | { type: 'failed'; error: CoreErrorInfo }
  | { type: 'response'; id: number; ok: true; value: unknown }
  | { type: 'response'; id: number; ok: false; error: { status: number; name: string; message: string; field?: string } }
  | { type: 'event'; event: ApiEvent }
  | { type: 'status'; status: CoreStatus }
  | { type: 'log'; line: string }
  | { type: 'stopped' }
