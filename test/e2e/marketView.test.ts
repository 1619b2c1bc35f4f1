import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ApiBackend, ApiServer } from '../../core/api/createApiServer.ts'
import { createApiServer } from '../../core/api/createApiServer.ts'
import { ensureHmiBuilt } from '../../core/api/ensureHmiBuilt.ts'
import { createSiteDataServices } from '../../core/api/routes/createSiteDataServices.ts'
import { createStore, type Store } from '../../core/store/createStore.ts'
import type { SiteFile } from '../../core/devices/site/siteFileSchema.ts'
import type { LiveMarketEvent } from '../../core/market/live/liveMarketView.ts'
import { createFakeLiveMarketView, fakeLiveLedger, type FakeLiveMarketView } from '../support/fakeLiveMarketView.ts'
import { launchChromium } from './support/launchChromium.ts'
import { openView, screenshot, seriousAxeViolations, watchConsole } from './support/viewHelpers.ts'

// The HMI's market view in Debian's Chromium against the real API server with a fake live
// market node (test/support/fakeLiveMarketView.ts) and a market demo's ledger file: what an
// operator must be able to read off it (links and their errors, peers, drops and why,
// every interval's steps and transactions, locks apart from losses, live events).
const backend: ApiBackend = { latest: () => null, plan: () => null, forecast: () => ({ load: null, pv: null, loadMethod: null, pvMethod: null, accuracy: null, model: null }) as never, alarms: () => [], acknowledgeAlarm: () => ({}) as never, trend: () => [], subscribe: () => () => {} }
const site = { name: 'probe', devices: [], market: {} } as unknown as SiteFile
const dir = mkdtempSync(join(tmpdir(), 'gm-market-view-'))
let browser: Awaited<ReturnType<typeof launchChromium>>
let live: ApiServer
let demo: ApiServer
let view: FakeLiveMarketView
let consoleLog: ReturnType<typeof watchConsole>
let store: Store

async function startApi(options: { liveMarket?: FakeLiveMarketView; marketLedgerFile?: string }) {
  const siteData = createSiteDataServices({ site, drivers: [], store, controller: { latest: () => null } as never, now: Date.now, ...options })
  return createApiServer({ backend, site: { name: 'probe', timeZone: 'Europe/Berlin', devices: [] }, people: store, siteData })
}
async function openMarket(api: ApiServer): Promise<Page> {
  const page = await browser.browser.newPage()
  await page.goto(`${api.url}/#token=${api.token}`)
  await openView(page, api.url, 'market', 'Market')
  return page
}

beforeAll(async () => {
  expect(ensureHmiBuilt(() => {})).not.toBe('failed')
  store = createStore({ path: join(dir, 'gridmesh.db') })
  view = createFakeLiveMarketView()
  live = await startApi({ liveMarket: view })
  const ledgerFile = join(dir, 'market-ledger.json')
  const { balances, ...rest } = fakeLiveLedger(Date.now())
  writeFileSync(ledgerFile, JSON.stringify({ ...rest, source: 'market-demo', balances: balances.map(({ locked: _, ...b }) => b) }))
  demo = await startApi({ marketLedgerFile: ledgerFile })
  browser = await launchChromium()
  consoleLog = watchConsole(browser.browser)
})
afterAll(async () => {
  await browser?.close()
  await live?.close()
  await demo?.close()
  store?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('market view of a live node', () => {
  it('shows the links (the chain down with its error, no credentials), the peers, the drops with their meaning, the intervals step by step and the locks apart', async () => {
    const page = await openMarket(live)
    const node = page.getByRole('region', { name: 'Live market node' })
    await node.getByText('trading site and clearing operator, site 1').waitFor()
    expect(await node.getByRole('row', { name: /^Broker/ }).innerText()).toMatch(/connected\s+mqtts:\/\/\*\*\*:\*\*\*@broker\.example:8883/)
    expect(await node.getByRole('row', { name: /^Chain/ }).innerText()).toMatch(/unreachable[\s\S]*last error: fetch failed: connect ECONNREFUSED https:\/\/\*\*\*@chain\.example:8545/)
    expect(await node.innerText()).toMatch(/2 waiting/)
    expect(await node.innerText()).toMatch(/keeps controlling its own batteries/)

    const peers = page.getByRole('region', { name: 'Peers' })
    expect(await peers.getByRole('heading').innerText()).toBe('Peers (2 of 3 online)')
    expect(await peers.getByRole('row', { name: /site 3/ }).innerText()).toMatch(/offline\s+\d+ \w{3} \d\d:\d\d:\d\d \([34] min ago\)/)

    const drops = page.getByRole('region', { name: 'Messages dropped' })
    expect(await drops.innerText()).toMatch(/412 accepted, 33 dropped/)
    expect(await drops.getByRole('row', { name: /^forged/ }).innerText()).toMatch(/forged\s+11\s+signed by a key the on-chain registry does not name/)
    expect(await drops.getByRole('row', { name: /^replayed/ }).innerText()).toMatch(/replayed\s+5\s+an old message/)
    expect(await drops.getByRole('row', { name: /^late/ }).innerText()).toMatch(/late\s+3\s+arrived after its validity deadline/)

    const rows = page.locator('section', { has: page.getByRole('heading', { name: /^Intervals/ }) }).locator('tbody > tr')
    expect(await rows.count()).toBe(4)
    const [open, committed, settled, finalized] = await rows.allInnerTexts()
    expect(open).toMatch(/1 ask · 2 bids\s+after gate closure\s+—\s+—\s+no trade/)
    expect(committed).toMatch(/120000 · 1\.40 kWh\s+not reported\s+after delivery\s+delivery\s+commit 0x72727272…727272/)
    expect(settled).toMatch(/settled, dispute window open\s+commit 0x71717171…717171\s+settle 0x81818181…818181/)
    expect(finalized).toMatch(/3 of 3 sites\s+finalized\s+commit 0x70707070…707070\s+settle 0x80808080…808080\s+finalize 0x90909090…909090/)

    const balances = page.getByRole('region', { name: 'Balances' })
    expect(await balances.getByRole('columnheader').allInnerTexts()).toEqual(['Site', 'Owner', 'Before', 'Free now', 'Locked until finalize', 'Finalized change'])
    // site 2 paid for interval 0 and has 240000 locked by the two intervals not finalized: locked is not a loss
    expect(await balances.getByRole('row', { name: /^2 / }).innerText()).toMatch(/100000000\s+99664000\s+240000\s+−96000/)
    expect(await balances.innerText()).toMatch(/Locked is not lost.*\(2 intervals with trades not finalized yet\)/)

    await screenshot(page, 'market-live')
    expect(await seriousAxeViolations(page)).toEqual([])
    await page.close()
  })

  it('shows market events as they arrive, and a check that differs as a problem on its interval', async () => {
    const page = await openMarket(live)
    const events = page.getByRole('region', { name: 'Market events' })
    await events.getByText(/None since this page opened/).waitFor()
    // the interval delivering now: second row, newest first
    const committed = await page.locator('section', { has: page.getByRole('heading', { name: /^Intervals/ }) }).locator('tbody > tr').nth(1).getByRole('button').innerText()
    const emit = (kind: LiveMarketEvent['kind'], detail: string, tx?: `0x${string}`) => view.emit({ type: 'market', kind, interval: kind === 'presence' ? null : committed, atMs: Date.now(), detail, ...(tx && { tx }) })
    // the stream is open once the view subscribed the node
    for (let i = 0; i < 100 && view.listenerCount() === 0; i++) await new Promise((r) => setTimeout(r, 50))
    emit('commit', 'clearing committed (gas 81 220)', `0x${'c4'.repeat(32)}`)
    emit('check', 'recomputed clearing differs: price 120000 committed, 118000 from the 3 orders seen; dispute proof follows')
    emit('dropped', 'forged order for site 9 (no such site)')
    await events.getByText(/forged order for site 9/).waitFor()
    expect(await events.locator('li').allInnerTexts()).toEqual([
      expect.stringMatching(/^\d\d:\d\d:\d\d dropped #\d+ forged order for site 9 \(no such site\)$/),
      expect.stringMatching(/^\d\d:\d\d:\d\d check #\d+ recomputed clearing differs/),
      expect.stringMatching(/^\d\d:\d\d:\d\d commit #\d+ clearing committed \(gas 81 220\) 0xc4c4c4c4…c4c4c4$/),
    ])
    const row = page.locator('tbody', { has: page.getByRole('button', { name: committed }) })
    await row.locator('.badge.critical', { hasText: 'differs' }).waitFor()
    await row.getByRole('button', { name: committed }).click()
    await row.getByText(/This site's check of the clearing: differs · recomputed clearing differs: price 120000 committed/).waitFor()
    await screenshot(page, 'market-live-events')
    await page.close()
  })

  it('says why there is no market when the node answers something malformed, and shows it again once it answers well', async () => {
    const good = view.answer.status
    view.answer.status = () => { const status = good() as { counters: object }; return { ...status, counters: { ...status.counters, forged: 'many' } } }
    const page = await openMarket(live)
    await page.getByRole('status').getByText(/The market: not available\./).waitFor()
    expect(await page.getByRole('status').innerText()).toMatch(/the live market node's status is malformed: counters\.forged/)
    view.answer.status = good
    view.emit({ type: 'market', kind: 'presence', interval: null, atMs: Date.now(), detail: 'site 3 online' })
    await page.getByRole('region', { name: 'Live market node' }).waitFor()
    await page.close()
  })

  it("shows a long-running node's last 48 intervals, and all of them when asked", async () => {
    const good = view.answer.ledger
    view.answer.ledger = () => {
      const ledger = fakeLiveLedger(Date.now())
      const base = ledger.intervals[3]!
      return { ...ledger, intervals: Array.from({ length: 100 }, (_, i) => ({ ...base, interval: String(Number(base.interval) - 99 + i), startMs: base.startMs - (99 - i) * 900_000, endMs: base.endMs - (99 - i) * 900_000 })) }
    }
    const page = await openMarket(live)
    const rows = page.locator('section', { has: page.getByRole('heading', { name: /^Intervals/ }) }).locator('tbody > tr')
    await page.getByRole('heading', { name: 'Intervals (100, newest first)' }).waitFor()
    expect(await rows.count()).toBe(48)
    await page.getByRole('button', { name: 'Show all 100 intervals' }).click()
    await page.getByRole('button', { name: 'Show all 100 intervals' }).waitFor({ state: 'detached' })
    expect(await rows.count()).toBe(100)
    view.answer.ledger = good
    await page.close()
  })
})

describe('market view of a market demo ledger (source market-demo)', () => {
  it('shows the ledger without live panels, and marks the change provisional while intervals are not finalized', async () => {
    const page = await openMarket(demo)
    await page.getByText(/Source market-demo \(.*market-ledger\.json\)/).waitFor()
    expect(await page.getByRole('region', { name: 'Live market node' }).count()).toBe(0)
    const balances = page.getByRole('region', { name: 'Balances' })
    expect(await balances.getByRole('columnheader').allInnerTexts()).toEqual(['Site', 'Owner', 'Before', 'Free now', 'Change'])
    expect(await balances.getByRole('row', { name: /^2 / }).innerText()).toMatch(/100000000\s+99664000\s+−336000 ?\*/)
    expect(await balances.getByRole('note').innerText()).toMatch(/Provisional: 2 intervals with trades are not finalized/)
    await screenshot(page, 'market-demo-ledger')
    expect(await seriousAxeViolations(page)).toEqual([])
    await page.close()
  })

  it('left no console error, failed request or CSP violation (but the simulator view asking whether there is one: 404)', () => {
    expect(consoleLog.errors.filter((e) => e.text !== '404 GET /api/sim')).toEqual([])
  })
})
