import type { BacktestResult, SlotRecord } from './runBacktest.ts'

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

type Series = { name: string; color: string; values: number[]; dash?: boolean }

/** A small inline SVG line chart: no scripts, no dependencies, prints anywhere. */
function chart(title: string, times: number[], series: Series[], units: string): string {
  const w = 1000
  const h = 220
  const pad = { l: 60, r: 10, t: 24, b: 28 }
  const all = series.flatMap((s) => s.values).filter(Number.isFinite)
  const lo = Math.min(0, ...all)
  let hi = Math.max(...all, 1)
  if (hi === lo) hi = lo + 1
  const x = (i: number) => pad.l + (i / Math.max(1, times.length - 1)) * (w - pad.l - pad.r)
  const y = (v: number) => pad.t + (1 - (v - lo) / (hi - lo)) * (h - pad.t - pad.b)
  const lines = series.map((s) => `<polyline fill="none" stroke="${s.color}" stroke-width="1.5"${s.dash ? ' stroke-dasharray="4 3"' : ''} points="${s.values.map((v, i) => `${x(i).toFixed(1)},${y(Number.isFinite(v) ? v : 0).toFixed(1)}`).join(' ')}"/>`).join('')
  const ticks = [lo, (lo + hi) / 2, hi].map((v) => `<text x="${pad.l - 6}" y="${y(v) + 4}" text-anchor="end">${Math.round(v)}</text><line x1="${pad.l}" x2="${w - pad.r}" y1="${y(v)}" y2="${y(v)}" stroke="#ccc"/>`).join('')
  const days = times.map((t, i) => ({ t, i })).filter(({ t }) => new Date(t).getUTCHours() === 0 && new Date(t).getUTCMinutes() === 0)
  const dayTicks = days.map(({ t, i }) => `<text x="${x(i)}" y="${h - 8}" text-anchor="middle">${new Date(t).toISOString().slice(5, 10)}</text>`).join('')
  const legend = series.map((s, i) => `<text x="${pad.l + 10 + i * 170}" y="16" fill="${s.color}">${esc(s.name)}</text>`).join('')
  return `<figure><figcaption>${esc(title)} (${esc(units)})</figcaption><svg viewBox="0 0 ${w} ${h}" width="100%" font-size="11" font-family="system-ui">${ticks}${lines}${dayTicks}${legend}</svg></figure>`
}

/** The backtest report: the three runs side by side, then power flows, SoC, prices and plan vs actual. */
export function renderBacktestHtml(result: BacktestResult): string {
  const [controller] = result.runs
  const slots: SlotRecord[] = controller!.slots
  const times = slots.map((s) => s.startMs)
  const byName = Object.fromEntries(result.runs.map((r) => [r.name, r]))
  const rows = result.runs.map((r) => `<tr><td>${esc(r.name)}</td><td>${r.metrics.costEur.toFixed(2)}</td><td>${r.metrics.costAdjustedEur.toFixed(2)}</td><td>${r.metrics.importKWh}</td><td>${r.metrics.exportKWh}</td><td>${r.metrics.peakImportW}</td><td>${r.metrics.selfConsumptionPct}</td><td>${r.metrics.cycles}</td><td>${r.metrics.startSocPct} → ${r.metrics.endSocPct}</td><td class="${r.metrics.violations.soc + r.metrics.violations.rating + r.metrics.violations.envelope ? 'bad' : ''}">${r.metrics.violations.soc + r.metrics.violations.rating + r.metrics.violations.envelope}</td><td>${r.wallTimeS}</td></tr>`).join('')
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Backtest: ${esc(result.site)}</title>
<style>body{font:14px/1.4 system-ui,sans-serif;background:#e6e6e6;color:#222;max-width:1100px;margin:2rem auto;padding:0 1rem}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #bbb;padding:.25rem .4rem;text-align:right}td:first-child,th:first-child{text-align:left}
figure{background:#f4f4f4;border:1px solid #bbb;margin:1rem 0;padding:.5rem}figcaption{color:#555}.bad{background:#c62828;color:#fff}</style></head><body>
<h1>Backtest: ${esc(result.site)}</h1>
<p>${esc(result.from)}, ${result.days} day(s), control cycle ${result.cycleS} s, cloud seed ${result.seed}. Wall time ${result.wallTimeS} s.
Saving against self-consumption: <b>${result.comparison.savingVsSelfConsumptionEur.toFixed(2)} EUR (${result.comparison.savingVsSelfConsumptionPct} %)</b>;
gap to perfect foresight: <b>${result.comparison.gapToPerfectForesightPct} %</b> (adjusted costs; the perfect-foresight plan's own optimum: ${result.perfectForesightOptimumEur?.toFixed(2) ?? '-'} EUR).</p>
<p>Controller: load forecast ${esc(result.controller.loadForecast)}${result.controller.model ? ` (trained on data up to ${esc(result.controller.model.trainedToIso)})` : ''}, PV forecast ${esc(result.controller.pvForecast)}, horizon ${result.controller.horizonSlots} slots, end-of-horizon SoC ${result.controller.endSocTargetPct ?? 'none'}${result.controller.endSocTargetPct !== null ? ' %' : ''}.</p>
<table><tr><th>run</th><th>cost EUR</th><th>adjusted EUR</th><th>import kWh</th><th>export kWh</th><th>peak import W</th><th>self-consumption %</th><th>cycles</th><th>SoC %</th><th>limit violations</th><th>wall s</th></tr>${rows}</table>
${chart('Power flows, controller run: load, PV, battery (> 0 discharge), grid (> 0 import)', times, [
    { name: 'load', color: '#333', values: slots.map((s) => s.loadW) },
    { name: 'PV', color: '#b8860b', values: slots.map((s) => s.pvW) },
    { name: 'battery', color: '#1f5fa8', values: slots.map((s) => s.batteryW) },
    { name: 'grid', color: '#888', values: slots.map((s) => (s.importWh - s.exportWh) * 4) },
  ], 'W')}
${chart('State of charge', times, result.runs.map((r, i) => ({ name: r.name, color: ['#1f5fa8', '#888', '#2e7d32'][i]!, values: r.slots.map((s) => s.socPct), dash: i > 0 })), '%')}
${chart('Prices', times, [{ name: 'import', color: '#333', values: slots.map((s) => s.importPriceEurPerKWh * 100) }, { name: 'export', color: '#888', values: slots.map((s) => s.exportPriceEurPerKWh * 100) }], 'EUR cent/kWh')}
${chart('Battery power: plan vs actual (controller run)', times, [
    { name: 'planned', color: '#888', values: slots.map((s) => s.plannedBatteryW ?? NaN), dash: true },
    { name: 'actual', color: '#1f5fa8', values: slots.map((s) => s.batteryW) },
    { name: 'perfect foresight', color: '#2e7d32', values: (byName['perfect-foresight']?.slots ?? []).map((s) => s.batteryW), dash: true },
  ], 'W')}
</body></html>
`
}
