import type { DeviceDriver, PointReading, WriteResult } from '../capabilities.ts'
import { createDeviceDriver, type ConnectionPool } from '../createDeviceDriver.ts'
import type { SiteFile } from '../site/siteFileSchema.ts'

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip'
export type Check = { name: string; status: CheckStatus; detail: string }

export type TestWrite = {
  capability: 'battery' | 'pv'
  action: string
  write: WriteResult | null
  before: number | null
  after: number | null
  revert: WriteResult | null
  status: CheckStatus
  detail: string
}

export type DeviceReport = {
  name: string
  driver: string | null
  identity: DeviceDriver['identity'] | null
  capabilities: readonly string[]
  points: PointReading[]
  checks: Check[]
  testWrites: TestWrite[]
}

export type CommissioningReport = {
  site: string
  startedAt: string
  finishedAt: string
  status: CheckStatus
  devices: DeviceReport[]
  siteChecks: Check[]
}

export type CommissionOptions = {
  site: SiteFile
  pool: ConnectionPool
  /** How long to watch a device respond to a test write (default 4000 ms). */
  observeMs?: number
  /** Skip the test writes (read-only commissioning). */
  readOnly?: boolean
  log?: (message: string) => void
}

const worst = (statuses: CheckStatus[]): CheckStatus =>
  statuses.includes('fail') ? 'fail' : statuses.includes('warn') ? 'warn' : statuses.every((s) => s === 'skip') && statuses.length ? 'skip' : 'pass'

function range(name: string, value: number | null, min: number, max: number, units: string): Check {
  if (value === null) return { name, status: 'skip', detail: 'not reported by the device' }
  const ok = value >= min && value <= max
  return { name, status: ok ? 'pass' : 'fail', detail: `${value} ${units} (plausible: ${min}..${max} ${units})` }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls `read` until `settled` holds or `ms` passes; returns the last value. */
async function observe(read: () => Promise<number | null>, settled: (v: number | null) => boolean, ms: number): Promise<number | null> {
  const until = Date.now() + ms
  let v = await read()
  while (!settled(v) && Date.now() < until) {
    await sleep(200)
    v = await read()
  }
  return v
}

/**
 * Commissions a site: reads every point of every device, checks plausibility (ranges
 * and the power balance load = pv + battery + grid), and runs a small, reverted test
 * write on each controllable device while watching it respond.
 */
export async function commissionSite({ site, pool, observeMs = 4000, readOnly = false, log = () => {} }: CommissionOptions): Promise<CommissioningReport> {
  const startedAt = new Date().toISOString()
  const devices: DeviceReport[] = []
  const drivers: DeviceDriver[] = []
  for (const device of site.devices) {
    const report: DeviceReport = { name: device.name, driver: null, identity: null, capabilities: [], points: [], checks: [], testWrites: [] }
    devices.push(report)
    let driver: DeviceDriver
    try {
      driver = await createDeviceDriver(device, pool, log)
      report.driver = driver.driver
      report.identity = driver.identity
      report.capabilities = driver.capabilities
      report.checks.push({ name: 'reachable and identified', status: 'pass', detail: `${driver.driver}: ${[driver.identity.manufacturer, driver.identity.model, driver.identity.serialNumber].filter(Boolean).join(' / ')}` })
      drivers.push(driver)
    } catch (error) {
      report.checks.push({ name: 'reachable and identified', status: 'fail', detail: (error as Error).message })
      continue
    }
    try {
      report.points = await driver.readAll()
      const missing = report.points.filter((p) => p.value === null).length
      report.checks.push({ name: 'every point read', status: 'pass', detail: `${report.points.length} points, ${missing} not implemented` })
    } catch (error) {
      report.checks.push({ name: 'every point read', status: 'fail', detail: (error as Error).message })
    }
    try {
      if (driver.meter) {
        const m = await driver.meter.readMeter()
        report.checks.push(range('grid frequency', m.frequencyHz, 47.5, 52.5, 'Hz'), range('grid voltage', m.voltageV, 184, 264.5, 'V'))
      }
      if (driver.pv) {
        const p = await driver.pv.readPv()
        report.checks.push(range('PV power', p.powerW, 0, (driver.pv.ratedW ?? Number.MAX_SAFE_INTEGER) * 1.1, 'W'))
        report.checks.push({ name: 'inverter state', status: p.fault ? 'fail' : 'pass', detail: p.fault ? 'reports FAULT' : 'no fault' })
      }
      if (driver.battery) {
        const b = await driver.battery.readBattery()
        report.checks.push(range('state of charge', b.socPct, 0, 100, '%'))
        report.checks.push(range('battery power', b.powerW, -(driver.battery.maxChargeW ?? 1e9) * 1.1, (driver.battery.maxDischargeW ?? 1e9) * 1.1, 'W'))
        report.checks.push({ name: 'battery state', status: b.fault ? 'fail' : 'pass', detail: b.fault ? 'reports FAULT' : 'no fault' })
      }
    } catch (error) {
      report.checks.push({ name: 'plausibility', status: 'fail', detail: (error as Error).message })
    }
    if (!readOnly) report.testWrites.push(...(await testWrites(driver, observeMs)))
  }
  const siteChecks = await balance(drivers)
  const all = [...devices.flatMap((d) => [...d.checks.map((c) => c.status), ...d.testWrites.map((t) => t.status)]), ...siteChecks.map((c) => c.status)]
  return { site: site.name, startedAt, finishedAt: new Date().toISOString(), status: worst(all), devices, siteChecks }
}

async function balance(drivers: DeviceDriver[]): Promise<Check[]> {
  const meters = drivers.filter((d) => d.meter)
  if (meters.length !== 1) return [{ name: 'power balance', status: 'skip', detail: `needs exactly one grid meter, the site has ${meters.length}` }]
  let pvW = 0
  let batteryW = 0
  for (const d of drivers) {
    if (d.pv) pvW += (await d.pv.readPv()).powerW ?? 0
    if (d.battery) batteryW += (await d.battery.readBattery()).powerW ?? 0
  }
  const gridW = (await meters[0]!.meter!.readMeter()).powerW
  if (gridW === null) return [{ name: 'power balance', status: 'skip', detail: 'the meter does not report power' }]
  const loadW = pvW + batteryW + gridW
  // A negative load means a sign or a scale is wrong somewhere (or a generator is not metered).
  const ok = loadW >= -0.02 * Math.max(1000, Math.abs(pvW) + Math.abs(batteryW) + Math.abs(gridW))
  return [{
    name: 'power balance',
    status: ok ? 'pass' : 'fail',
    detail: `load = pv ${Math.round(pvW)} W + battery ${Math.round(batteryW)} W + grid ${Math.round(gridW)} W = ${Math.round(loadW)} W${ok ? '' : ': negative, check the signs (grid > 0 import, battery > 0 discharge) and the scale factors'}`,
  }]
}

async function testWrites(driver: DeviceDriver, observeMs: number): Promise<TestWrite[]> {
  const out: TestWrite[] = []
  if (driver.battery) {
    const battery = driver.battery
    const before = await battery.readBattery()
    const magnitude = Math.min(500, 0.1 * (battery.maxChargeW ?? 500), 0.1 * (battery.maxDischargeW ?? 500))
    const target = (before.socPct ?? 50) > 90 ? magnitude : -magnitude // charge gently unless nearly full
    const test: TestWrite = { capability: 'battery', action: `set ${Math.round(target)} W (${target < 0 ? 'charge' : 'discharge'}), then release`, write: null, before: before.powerW, after: null, revert: null, status: 'fail', detail: '' }
    try {
      test.write = await battery.setPowerW(target)
      test.after = await observe(async () => (await battery.readBattery()).powerW, (v) => v !== null && Math.abs(v - target) <= Math.max(50, 0.2 * magnitude), observeMs)
      const responded = test.after !== null && Math.abs(test.after - target) <= Math.max(50, 0.2 * magnitude)
      test.status = test.write.verified && responded ? 'pass' : 'fail'
      test.detail = !test.write.verified ? `read back ${test.write.readBack}, wrote ${test.write.written}` : responded ? `power moved from ${test.before} W to ${test.after} W` : `power stayed at ${test.after} W within ${observeMs} ms`
    } catch (error) {
      test.detail = (error as Error).message
    } finally {
      try {
        test.revert = await battery.releasePower()
      } catch (error) {
        test.status = 'fail'
        test.detail += `; REVERT FAILED: ${(error as Error).message}`
      }
    }
    out.push(test)
  }
  if (driver.pv) {
    const pv = driver.pv
    const before = await pv.readPv()
    const rated = pv.ratedW ?? 0
    const producing = (before.powerW ?? 0) > 0.1 * rated && rated > 0
    // Limit to half of what it makes now: visible at once, harmless, and reverted.
    const pct = producing ? Math.max(5, Math.floor(((before.powerW ?? 0) / rated) * 50)) : 90
    const test: TestWrite = { capability: 'pv', action: `limit to ${pct} %, then lift`, write: null, before: before.powerW, after: null, revert: null, status: 'fail', detail: '' }
    const capW = (rated * pct) / 100
    try {
      test.write = await pv.setPowerLimitPct(pct)
      if (producing) {
        test.after = await observe(async () => (await pv.readPv()).powerW, (v) => v !== null && v <= capW * 1.05 + 10, observeMs)
        const responded = test.after !== null && test.after <= capW * 1.05 + 10
        test.status = test.write.verified && responded ? 'pass' : 'fail'
        test.detail = responded ? `output fell from ${test.before} W to ${test.after} W (cap ${Math.round(capW)} W)` : `output stayed at ${test.after} W above the ${Math.round(capW)} W cap`
      } else {
        test.after = (await pv.readPv()).powerW
        test.status = test.write.verified ? 'warn' : 'fail'
        test.detail = test.write.verified ? 'limit written and read back; not producing, so the response could not be observed' : `read back ${test.write.readBack}`
      }
    } catch (error) {
      test.detail = (error as Error).message
    } finally {
      try {
        test.revert = await pv.clearPowerLimit()
      } catch (error) {
        test.status = 'fail'
        test.detail += `; REVERT FAILED: ${(error as Error).message}`
      }
    }
    out.push(test)
  }
  return out
}
