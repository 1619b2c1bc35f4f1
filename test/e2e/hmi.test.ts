// The HMI end to end: Debian's Chromium (playwright-core) against `gridmesh demo` started
// as a user starts it. One demo and one browser for the file; the tests run in order and
// each leaves the site as it found it (faults cleared, mode back to auto).
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from './support/launchChromium.ts'
import { startDemo, type RunningDemo } from './support/startDemo.ts'
import { openView, screenshot, seriousAxeViolations, until, watchConsole } from './support/viewHelpers.ts'

const cli = fileURLToPath(new URL('../../bin/gridmesh.js', import.meta.url))
const data = mkdtempSync(join(tmpdir(), 'hmi-e2e-'))
const viewerPassword = 'viewer-pass-1234'
let demo: RunningDemo
let browser: Awaited<ReturnType<typeof launchChromium>>
let page: Page
let consoleLog: ReturnType<typeof watchConsole>
/** Errors a test provokes on purpose (a refused setting, the service down for the restart): [from, to, what]; anything else fails the last test. */
const expectedErrors: [number, number, RegExp][] = []

type SimDevice = { name: string; kind: string; powerW?: number; socPct?: number | null; setpointW?: number | null; faults: Record<string, unknown> }
type SimState = { timeMs: number; powerW: Record<string, number>; devices: SimDevice[] }
const simState = async (): Promise<SimState> => (await (await fetch(`${demo.simUrl}/api/state`)).json()) as SimState
const battery = (s: SimState) => s.devices.find((d) => d.kind === 'battery')!

async function signIn(p: Page) {
  if (demo.signInUrl) await p.goto(demo.signInUrl)
  else await p.goto(`${demo.url}/#token=${demo.token}`)
  await p.getByRole('heading', { level: 1, name: 'Overview' }).waitFor({ timeout: 30_000 })
}

const liveValue = async (label: string) => Number(await page.locator(label === "Grid" ? `[data-live^="Grid"]` : `[data-live="${label}"]`).getAttribute('data-value'))

beforeAll(async () => {
  // An account for the viewer test, made the way an installer makes one (password from a file, never a flag).
  const pwFile = join(data, 'viewer-password')
  writeFileSync(pwFile, `${viewerPassword}\n`, { mode: 0o600 })
  mkdirSync(join(data, 'site'), { recursive: true })
  const add = spawnSync(process.execPath, [cli, 'users', 'add', 'viewer1', '--role', 'viewer', '--password-file', pwFile, '--data', join(data, 'site')], { encoding: 'utf8' })
  if (add.status !== 0) console.warn(`users add failed (${add.status}): ${add.stderr}`)
  demo = await startDemo(join(data, 'site'))
  browser = await launchChromium()
  consoleLog = watchConsole(browser.browser)
  page = await browser.browser.newPage()
  await signIn(page)
}, 330_000)

afterAll(async () => {
  await browser?.close()
  await demo?.stop()
}, 120_000)

describe('HMI against gridmesh demo', { timeout: 300_000 }, () => {
  it('shows the overview with values that match the simulator within a cycle', async () => {
    await openView(page, demo.url, 'overview', 'Overview')
    // The first cycle and plan can take a few seconds after start.
    await until(async () => ((await page.locator('[data-live="PV"]').getAttribute('data-value')) != null ? true : undefined), 'a first cycle on the overview', 60_000)
    const checks: string[] = []
    for (let attempt = 0; attempt < 5; attempt++) {
      const before = await simState()
      const shown = { pv: await liveValue('PV'), battery: await liveValue('Battery'), grid: await liveValue('Grid'), soc: await liveValue('Battery state of charge') }
      const after = await simState()
      const within = (v: number, a: number, b: number, tol: number) => v >= Math.min(a, b) - tol && v <= Math.max(a, b) + tol
      const tolW = (a: number, b: number) => 100 + 0.05 * Math.max(Math.abs(a), Math.abs(b))
      const ok = {
        pv: within(shown.pv, before.powerW.pv!, after.powerW.pv!, tolW(before.powerW.pv!, after.powerW.pv!)),
        battery: within(shown.battery, before.powerW.battery!, after.powerW.battery!, tolW(before.powerW.battery!, after.powerW.battery!)),
        grid: within(shown.grid, before.powerW.grid!, after.powerW.grid!, tolW(before.powerW.grid!, after.powerW.grid!)),
        soc: within(shown.soc, battery(before).socPct!, battery(after).socPct!, 0.5),
      }
      checks.push(JSON.stringify({ shown, sim: { before: { ...before.powerW, soc: battery(before).socPct }, after: { ...after.powerW, soc: battery(after).socPct } }, ok }))
      if (Object.values(ok).every(Boolean)) break
      if (attempt === 4) expect.fail(`overview and simulator disagree beyond one cycle:\n${checks.join('\n')}`)
    }
    await screenshot(page, 'overview-first-cycle')
  })

  it('shows a fault injected from the simulator view as an alarm, and acknowledges and shelves it', async () => {
    await openView(page, demo.url, 'simulator', 'Simulator')
    const panel = page.locator('[data-sim-device="bat1"]')
    await panel.waitFor({ timeout: 30_000 })
    await panel.locator('button[data-fault="noResponse"]').click()
    await until(async () => ((await panel.locator('button[data-fault="noResponse"]').getAttribute('aria-pressed')) === 'true' ? true : undefined), 'the fault to show as set', 20_000, () => demo.output())
    await screenshot(page, 'simulator')
    try {
      await openView(page, demo.url, 'alarms', 'Alarms')
      // the battery's own alarm by its key: a silent battery raises stale:bat1 and, once a write
      // fails, write:bat1 too, and the table orders them by severity, so `.first()` would move
      const row = page.locator('tr[data-alarm="stale:bat1"]')
      await until(async () => ((await row.getAttribute('data-state')) === 'unacknowledged' ? true : undefined), 'an unacknowledged stale:bat1 alarm', 60_000, async () => page.locator('main').innerText())
      await row.getByRole('button', { name: 'Acknowledge' }).click()
      await until(async () => ((await row.getAttribute('data-state')) === 'acknowledged' ? true : undefined), 'the alarm acknowledged', 20_000, async () => page.locator('main').innerText())
      expect(await row.innerText()).toMatch(/ack local/)
      await row.getByRole('button', { name: 'Shelve…' }).click()
      await row.getByLabel('reason').fill('e2e: battery under test')
      await row.getByRole('button', { name: 'Shelve', exact: true }).click()
      await until(async () => ((await row.getAttribute('data-state')) === 'shelved' ? true : undefined), 'the alarm shelved', 20_000, async () => page.locator('main').innerText())
      expect(await row.innerText()).toMatch(/shelved by local until .*e2e: battery under test/s)
      await screenshot(page, 'alarms')
    } finally {
      await fetch(`${demo.simUrl}/api/devices/bat1/faults`, { method: 'DELETE' })
    }
  })

  it('refuses a bad setting with the server message next to its field', async () => {
    await openView(page, demo.url, 'settings', 'Settings')
    const from = Date.now()
    await page.locator('#maxImportW').fill('-5')
    await page.getByRole('button', { name: 'Save grid limits' }).click()
    const message = page.locator('[data-field="maxImportW"]')
    await message.waitFor({ timeout: 20_000 })
    expect(await message.innerText()).toMatch(/maxImportW/)
    expect(await page.locator('#maxImportW').getAttribute('aria-invalid')).toBe('true')
    expectedErrors.push([from, Date.now(), /^400 POST \/api\/commands$/])
    await screenshot(page, 'settings-refused')
  })

  it('moves the simulated battery in manual mode, and returns to auto at expiry', async () => {
    await openView(page, demo.url, 'settings', 'Settings')
    const soc = battery(await simState()).socPct ?? 50
    // Towards the middle, so the SoC limits do not clamp the setpoint to zero.
    const setpointW = soc > 50 ? 2000 : -2000
    await page.getByLabel('Manual').check()
    await page.locator('#setpointW').fill(String(setpointW))
    // Minutes of the site's clock (the demo runs 60x: 20 min pass in about 20 s).
    await page.locator('#expires').fill('20')
    await page.getByRole('button', { name: 'Apply mode' }).click()
    await until(async () => ((await page.getByTestId('mode-now').innerText()) === 'manual' ? true : undefined), 'manual mode in force', 20_000, async () => page.locator('main').innerText())
    await screenshot(page, 'settings')
    const moved = await until(async () => {
      const b = battery(await simState())
      return b.powerW != null && Math.abs(b.powerW - setpointW) < 300 ? b.powerW : undefined
    }, `the simulated battery at ${setpointW} W`, 30_000, async () => JSON.stringify(battery(await simState())))
    expect(Math.sign(moved)).toBe(Math.sign(setpointW))
    await until(async () => ((await page.getByTestId('mode-now').innerText()) === 'auto' ? true : undefined), 'auto again after the expiry', 90_000, async () => page.locator('main').innerText())
  })

  it('asks the trend API for the tier each range needs', async () => {
    await openView(page, demo.url, 'trends', 'Trends')
    const expectTier = async (range: string, tier: string) => {
      const answer = page.waitForResponse((r) => r.url().includes('/api/trend?'), { timeout: 30_000 })
      await page.getByRole('button', { name: range, exact: true }).click()
      const body = (await (await answer).json()) as { tier?: string }
      expect(body.tier, `range ${range}`).toBe(tier)
      await until(async () => ((await page.getByTestId('trend-tier').innerText()) === tier ? true : undefined), `tier ${tier} shown`, 10_000)
    }
    await expectTier('10 min', 'raw')
    await expectTier('24 h', '1m')
    await expectTier('90 d', '15m')
    await expectTier('1 h', 'raw')
    await screenshot(page, 'trends')
  })

  it('exports the trend as a CSV download', async () => {
    await openView(page, demo.url, 'trends', 'Trends')
    await page.getByTestId('trend-tier').filter({ hasText: /raw|1m|15m/ }).waitFor({ timeout: 30_000 })
    const download = page.waitForEvent('download', { timeout: 30_000 })
    await page.getByTestId('csv').click()
    const file = await (await download).path()
    const lines = readFileSync(file, 'utf8').trim().split('\n')
    expect(lines[0]).toMatch(/time/i)
    expect(lines.length).toBeGreaterThan(1)
  })

  it('lets a viewer see but not write: controls disabled, and the server answers 403', async () => {
    const viewer = await launchChromium()
    try {
      const log = watchConsole(viewer.browser)
      const p = await viewer.browser.newPage()
      await p.goto(demo.url)
      await p.getByLabel('Name').fill('viewer1')
      await p.getByLabel('Password').fill('not-the-password')
      await p.getByRole('button', { name: 'Sign in' }).click()
      await p.getByRole('alert').filter({ hasText: /./ }).waitFor({ timeout: 20_000 })
      expect(await p.getByRole('heading', { level: 1, name: 'Overview' }).count()).toBe(0)
      await p.getByLabel('Password').fill(viewerPassword)
      await p.getByRole('button', { name: 'Sign in' }).click()
      await p.getByRole('heading', { level: 1, name: 'Overview' }).waitFor({ timeout: 30_000 })
      await openView(p, demo.url, 'settings', 'Settings')
      expect(await p.getByRole('button', { name: 'Apply mode' }).isDisabled()).toBe(true)
      expect(await p.getByRole('button', { name: 'Save grid limits' }).isDisabled()).toBe(true)
      await screenshot(p, 'settings-viewer')
      const status = await p.evaluate(async () => (await fetch('/api/commands', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'setMode', mode: 'self-consumption' }) })).status)
      expect(status).toBe(403)
      // Expected here: /api/session answering 401 before the login (that is how the page knows to show it), the wrong password, and the 403 provoked on purpose.
      expect(log.errors.map((e) => e.text).filter((t) => !['401 GET /api/session', '401 POST /api/login', '403 POST /api/commands'].includes(t))).toEqual([])
    } finally {
      await viewer.close()
    }
  })

  it('scans the simulator, makes a site file and runs read-only commissioning with a downloadable report', async () => {
    await openView(page, demo.url, 'devices', 'Devices')
    await page.getByRole('button', { name: 'Scan' }).click()
    const yaml = page.locator('#site-yaml')
    await yaml.waitFor({ timeout: 90_000 })
    expect(await yaml.inputValue()).toMatch(/devices:/)
    await page.getByLabel('read only (no test writes)').check()
    await page.getByRole('button', { name: 'Run commissioning' }).click()
    await page.getByRole('heading', { level: 3, name: /Commissioning .*: (done|failed)/ }).waitFor({ timeout: 120_000 })
    await screenshot(page, 'commissioning')
    expect(await page.getByRole('heading', { level: 3, name: /Commissioning/ }).innerText()).toMatch(/done/)
    const download = page.waitForEvent('download', { timeout: 30_000 })
    await page.getByRole('button', { name: 'Download report (JSON)' }).click()
    const report = JSON.parse(readFileSync(await (await download).path(), 'utf8')) as unknown
    expect(report).toBeTypeOf('object')
  })

  it('has no serious accessibility violations (axe-core) on any view, and screenshots each', async () => {
    const views: [string, string][] = [['overview', 'Overview'], ['alarms', 'Alarms'], ['trends', 'Trends'], ['forecast', 'Forecast'], ['plan', 'Plan'], ['market', 'Market'], ['devices', 'Devices'], ['devices/bat1', 'bat1'], ['simulator', 'Simulator'], ['settings', 'Settings'], ['audit', 'Audit log']]
    const found: Record<string, unknown> = {}
    for (const [view, heading] of views) {
      await openView(page, demo.url, view, heading)
      await page.waitForTimeout(1500)
      const shot = await screenshot(page, view.replace('/', '-'))
      // The README's picture: the overview once the site has a plan (the first test's is from before it).
      if (view === 'overview') {
        mkdirSync('docs', { recursive: true })
        copyFileSync(shot, join('docs', 'overview.png'))
      }
      const v = await seriousAxeViolations(page)
      if (v.length) found[view] = v
    }
    expect(found).toEqual({})
  })

  it('reconnects by itself after the service restarts', async () => {
    await openView(page, demo.url, 'overview', 'Overview')
    const { port } = demo
    const from = Date.now()
    await demo.stop()
    await page.getByRole('alert').filter({ hasText: /Offline|Stale/ }).first().waitFor({ timeout: 30_000 })
    await screenshot(page, 'offline')
    demo = await startDemo(join(data, 'site'), port)
    await until(async () => ((await page.getByRole('alert').filter({ hasText: /Offline|Stale|Reconnecting/ }).count()) === 0 ? true : undefined), 'the banner to go after the restart', 90_000, async () => page.locator('body').innerText())
    await until(async () => {
      const age = Number(await page.locator('[data-live="PV"]').getAttribute('data-age-ms'))
      return age < 5000 ? true : undefined
    }, 'live values again', 60_000)
    expectedErrors.push([from, Date.now(), /./])
    expect(await page.getByRole('heading', { level: 1, name: 'Overview' }).count()).toBe(1)
  })

  it('logged no console errors and no CSP violations', () => {
    const unexpected = consoleLog.errors.filter((e) => !expectedErrors.some(([a, b, what]) => e.atMs >= a && e.atMs <= b && what.test(e.text)))
    expect(unexpected.map((e) => e.text)).toEqual([])
  })
})
