import type { ApiEvent } from '../../../core/api/contract.ts'
import { isaAlarmState } from '../lib/isaAlarmState.ts'
import { siteFlows } from '../lib/siteFlows.ts'
import { ApiError } from '../transport/ApiError.ts'
import type { Alarm, AlarmsResult, AuditEntry, AuditResult, ForecastResult, LiveMarketEvent, LiveState, OperatingMode, Plan, PlanResult, SiteSettings } from '../transport/apiTypes.ts'
import type { ConnectionStatus, ExtraEvent, Transport } from '../transport/Transport.ts'

/** No cycle for this long (wall clock) and the data on screen is called stale, even while the socket is up. */
export const staleAfterMs = 5_000

/**
 * The live site: the last snapshot of state, plan, forecast and alarms, kept current by
 * the event stream and re-read in full on every (re)connect, so nothing missed while
 * offline stays wrong. Snapshots are replaced, never mutated ($state.raw).
 */
export class SiteStore {
  state = $state.raw<LiveState | null>(null)
  plan = $state.raw<Plan | null>(null)
  forecast = $state.raw<ForecastResult | null>(null)
  alarms = $state.raw<Alarm[]>([])
  audit = $state.raw<AuditEntry[]>([])
  connection = $state.raw<ConnectionStatus>({ state: 'connecting', since: Date.now(), retryInMs: null, reason: null })
  /** Wall-clock time the last cycle arrived (ages on screen are wall-clock). */
  receivedAtMs = $state.raw<number | null>(null)
  /** Whether the site runs on the simulator (the simulator view is shown only then). */
  simAvailable = $state.raw(false)
  /** Bumped on market events: the market view re-reads. */
  marketVersion = $state.raw(0)
  /** The live market node's events since the page opened, newest first (the last 200). */
  marketEvents = $state.raw<LiveMarketEvent[]>([])
  now = $state.raw(Date.now())
  error = $state.raw<string | null>(null)
  /** Set when the server answers 401: the session is gone. */
  unauthorized = $state.raw(false)

  site = $derived(this.state?.site ?? null)
  cycle = $derived(this.state?.cycle ?? null)
  timeZone = $derived(this.state?.site.timeZone ?? 'UTC')
  mode = $derived<OperatingMode | null>(this.state?.mode ?? null)
  settings = $derived<SiteSettings | null>(this.state?.settings ?? null)
  flows = $derived(siteFlows(this.cycle, this.plan))
  ageMs = $derived(this.receivedAtMs == null ? null : Math.max(0, this.now - this.receivedAtMs))
  stale = $derived(this.connection.state !== 'online' || this.ageMs == null || this.ageMs > staleAfterMs)
  staleDevices = $derived((this.cycle?.devices ?? []).filter((d) => d.stale).map((d) => d.name))
  /**
   * The site's clock now (ms): the last cycle's time moved on by the wall-clock time since it
   * arrived; the wall clock before the first cycle. Alarm shelves, presence and the market's
   * windows are in the site's time, which a simulated site (the demo, 60x) keeps apart from
   * the wall clock; the next cycle corrects the estimate.
   */
  siteNowMs = $derived(this.cycle && this.receivedAtMs != null ? this.cycle.timeMs + Math.max(0, this.now - this.receivedAtMs) : this.now)
  activeAlarms = $derived(this.alarms.filter((a) => isaAlarmState(a, this.siteNowMs) !== 'normal' && isaAlarmState(a, this.siteNowMs) !== 'shelved'))
  unacknowledged = $derived(this.activeAlarms.filter((a) => { const s = isaAlarmState(a, this.siteNowMs); return s === 'unacknowledged' || s === 'returned-unacknowledged' }).length)

  readonly transport: Transport

  constructor(transport: Transport) {
    this.transport = transport
  }

  /** Subscribe and tick the age clock; returns the stop. */
  start(): () => void {
    const tick = setInterval(() => (this.now = Date.now()), 1000)
    const unsubscribe = this.transport.subscribe(
      (event) => this.#apply(event),
      (status) => {
        this.connection = status
        if (status.state === 'online') void this.refresh()
        // A refused upgrade looks like any lost connection: one query tells an ended session (401: sign in again) from a service that is down.
        else if (status.state === 'offline') void this.transport.query('session').catch((error: unknown) => {
          if (error instanceof ApiError && error.status === 401) this.unauthorized = true
        })
      },
    )
    return () => {
      clearInterval(tick)
      unsubscribe()
    }
  }

  async refresh(): Promise<void> {
    const t = this.transport
    const settle = async <T>(p: Promise<T>, apply: (v: T) => void) => {
      try {
        apply(await p)
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) this.unauthorized = true
        else if (!(error instanceof ApiError && error.notAvailable)) this.error = (error as Error).message
      }
    }
    await Promise.all([
      settle(t.query<LiveState>('state'), (s) => {
        this.state = s
        if (s.cycle) this.receivedAtMs = Date.now()
      }),
      settle(t.query<PlanResult>('plan'), (p) => (this.plan = p.plan)),
      settle(t.query<ForecastResult>('forecast'), (f) => (this.forecast = f)),
      this.refreshAlarms(),
      settle(t.query<AuditResult>('audit'), (a) => (this.audit = a.entries)),
      settle(t.query<{ available: boolean }>('sim'), (r) => (this.simAvailable = r.available)),
    ])
  }

  async refreshAlarms(): Promise<void> {
    try {
      this.alarms = (await this.transport.query<AlarmsResult>('alarms')).alarms as Alarm[]
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) this.unauthorized = true
    }
  }

  #apply(event: ApiEvent | ExtraEvent): void {
    const e = event as ApiEvent
    switch (e.type) {
      case 'hello':
        if (this.state) this.state = { ...this.state, site: e.site }
        return
      case 'cycle':
        if (this.state) this.state = { ...this.state, cycle: e.report }
        this.receivedAtMs = Date.now()
        return
      case 'plan':
        this.plan = e.plan
        return
      case 'forecast':
        this.forecast = { ...(this.forecast ?? { loadMethod: null, pvMethod: null, accuracy: null, model: null }), load: e.load, pv: e.pv }
        return
      case 'alarm': {
        const others = this.alarms.filter((a) => a.id !== e.alarm.id)
        this.alarms = [e.alarm as Alarm, ...others].sort((a, b) => b.raisedAtMs - a.raisedAtMs)
        return
      }
      case 'model':
        void this.transport.query<ForecastResult>('forecast').then((f) => (this.forecast = f), () => {})
        return
      case 'mode':
        if (this.state) this.state = { ...this.state, mode: e.mode }
        return
      case 'settings':
        if (this.state) this.state = { ...this.state, settings: e.settings }
        return
      case 'audit':
        this.audit = [e.entry, ...this.audit].slice(0, 500)
        return
      case 'market':
        this.marketEvents = [e, ...this.marketEvents].slice(0, 200)
        this.marketVersion++
        return
    }
  }
}
