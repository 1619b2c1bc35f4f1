// The answers the views read. Types come from core/api/contract.ts wherever it has them;
// the few additions below follow the agreed API plan for issue 12 and are read
// defensively (optional), so a server without them shows "not available", never a guess.
import type { AlarmEventsResult, AlarmsResult, AuditEntry, AuditResult, CommissionJob, DevicesResult, ForecastResult, LiveMarketEvent, LiveMarketStatus, MarketResult, OperatingMode, PlanResult, PointsResult, Role, ScanCommandResult, SessionResult, SessionUser, SettingsResult, SimResult, SimUnavailable, SiteSettings, StateResult, TariffSettings, TrendResult } from '../../../core/api/contract.ts'

export type { AlarmEventsResult, AlarmsResult, AuditEntry, AuditResult, CommissionJob, DevicesResult, ForecastResult, LiveMarketEvent, LiveMarketStatus, MarketResult, OperatingMode, PlanResult, PointsResult, Role, ScanCommandResult, SessionResult, SessionUser, SettingsResult, SimResult, SimUnavailable, SiteSettings, StateResult, TariffSettings, TrendResult }
export type DeviceView = DevicesResult['devices'][number]
export type SimState = SimResult['state']
export type Alarm = AlarmsResult['alarms'][number]
export type AlarmEvent = AlarmEventsResult['events'][number]
export type Plan = NonNullable<PlanResult['plan']>
export type PlanSlot = Plan['slots'][number]
export type CycleReport = NonNullable<StateResult['cycle']>
export type SiteSummary = StateResult['site']
export type TelemetryRow = TrendResult['rows'][number]
export type ModeName = OperatingMode['mode']

/** /api/state as the plan extends it: the contract's answer plus mode and settings when the server sends them. */
export type LiveState = StateResult & { mode?: OperatingMode; settings?: SiteSettings }
export type Trend = TrendResult
export type MarketLedger = Extract<MarketResult, { available: true }>['ledger']
export type MarketInterval = MarketLedger['intervals'][number]
export type MarketBalance = MarketLedger['balances'][number]
