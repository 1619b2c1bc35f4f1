// The HMI in the real browser (Debian's Chromium via playwright-core), against
// `gridmesh demo` started as a user starts it: first paint of the overview, the
// scripting cost of one live update, 604,800 points drawn by uPlot, the 90-day trend
// answer's size, and the gzipped bundle. Targets (DESIGN.md): < 1 s, < 8 ms, < 200 ms,
// < 1 MB, < 250 kB.
import { readdirSync, readFileSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { ensureHmiBuilt } from '../core/api/ensureHmiBuilt.ts'
import { defaultHmiDir } from '../core/api/serveHmi.ts'
import { answerTrend } from '../core/api/trend/answerTrend.ts'
import { createStore } from '../core/store/createStore.ts'
import { launchChromium } from '../test/e2e/support/launchChromium.ts'
import { startDemo } from '../test/e2e/support/startDemo.ts'

const log = (m: string) => process.stderr.write(`hmi bench: ${m}\n`)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d

function bundleGzipBytes(): { files: Record<string, number>; totalGzipBytes: number; totalBytes: number } {
  const files: Record<string, number> = {}
  let total = 0
  let raw = 0
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name)
      if (statSync(path).isDirectory()) walk(path)
      else {
        const bytes = readFileSync(path)
        const gz = gzipSync(bytes, { level: 9 }).length
        files[path.slice(defaultHmiDir.length + 1)] = gz
        total += gz
        raw += bytes.length
      }
    }
  }
  walk(defaultHmiDir)
  return { files, totalGzipBytes: total, totalBytes: raw }
}

/** 90 days of one point at 1-minute spacing, rolled up by the store, asked for as the HMI asks (maxPoints 1600) and at the API's default. */
function trend90dBytes(): { hmiMaxPointsBytes: number; defaultMaxPointsBytes: number; tier: string; sourceRows: number; rows: number } {
  const dir = mkdtempSync(join(tmpdir(), 'hmi-bench-store-'))
  try {
    const nowMs = Date.UTC(2026, 11, 1)
    const fromMs = nowMs - 90 * 86_400_000
    const store = createStore({ path: join(dir, 'gridmesh.db'), now: () => nowMs })
    const samples = []
    for (let t = fromMs; t < nowMs; t += 60_000) samples.push({ timeMs: t, device: 'site', point: 'loadW', value: Math.round(2000 + 1500 * Math.sin(t / 3_600_000) + (t % 7_919)) })
    for (let i = 0; i < samples.length; i += 20_000) store.appendTelemetry(samples.slice(i, i + 20_000))
    store.downsample(nowMs)
    const hmi = answerTrend(store, { device: 'site', point: 'loadW', fromMs, toMs: nowMs, maxPoints: 1600 }, nowMs)
    const dflt = answerTrend(store, { device: 'site', point: 'loadW', fromMs, toMs: nowMs }, nowMs)
    store.close()
    return { hmiMaxPointsBytes: Buffer.byteLength(JSON.stringify(hmi)), defaultMaxPointsBytes: Buffer.byteLength(JSON.stringify(dflt)), tier: hmi.tier, sourceRows: hmi.sourceRows, rows: hmi.rows.length }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** uPlot alone in a page (the HMI's version, same options as its TimeChart): time from the data being there to the frame after the draw. */
async function uplotDrawMs(page: import('playwright-core').Page, points: number): Promise<number[]> {
  const uplotDir = fileURLToPath(new URL('../node_modules/uplot/dist/', import.meta.url))
  const server = createServer((req, res) => {
    if (req.url === '/uPlot.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(join(uplotDir, 'uPlot.iife.min.js')))
    if (req.url === '/uPlot.css') return res.writeHead(200, { 'content-type': 'text/css' }).end(readFileSync(join(uplotDir, 'uPlot.min.css')))
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><link rel="stylesheet" href="/uPlot.css"><script src="/uPlot.js"></script><div id="c"></div>')
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  try {
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)
    const times: number[] = []
    for (let run = 0; run < 5; run++) {
      times.push(
        await page.evaluate(async (n) => {
          const x = new Float64Array(n)
          const y = new Float64Array(n)
          const t0 = Date.UTC(2026, 10, 1)
          for (let i = 0; i < n; i++) {
            x[i] = t0 + i * 1000
            y[i] = 2000 + 1500 * Math.sin(i / 3600) + ((i * 7919) % 400)
          }
          const host = document.getElementById('c')!
          host.replaceChildren()
          const U = (globalThis as unknown as { uPlot: new (o: object, d: unknown, el: HTMLElement) => unknown }).uPlot
          const start = performance.now()
          new U({ width: 1200, height: 320, ms: 1, legend: { live: false }, cursor: { drag: { x: true, y: false } }, series: [{}, { label: 'load (W)', stroke: '#1f1f1f', width: 1.5, points: { show: false } }], axes: [{}, { size: 64 }] }, [x, y], host)
          await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))
          return performance.now() - start
        }, points),
      )
    }
    return times
  } finally {
    server.close()
  }
}

async function main() {
  if (ensureHmiBuilt(log) === 'failed') throw new Error('the HMI could not be built')
  const bundle = bundleGzipBytes()
  log(`bundle ${bundle.totalGzipBytes} B gzipped (${bundle.totalBytes} B raw)`)
  const trend = trend90dBytes()
  log(`90-day trend: ${trend.hmiMaxPointsBytes} B at maxPoints 1600, ${trend.defaultMaxPointsBytes} B at the default (tier ${trend.tier}, ${trend.sourceRows} stored rows)`)

  const data = mkdtempSync(join(tmpdir(), 'hmi-bench-'))
  const demo = await startDemo(join(data, 'site'))
  const chromium = await launchChromium()
  try {
    const page = await chromium.browser.newPage()
    if (demo.signInUrl) await page.goto(demo.signInUrl)
    else await page.goto(`${demo.url}/#token=${demo.token}`)
    await page.locator('[data-live="PV"][data-value]').waitFor({ timeout: 60_000 })
    // First paint, and the overview with live values, on fresh loads (the session cookie is set).
    await chromium.browser.addInitScript(() => {
      new MutationObserver((_m, obs) => {
        if (document.querySelector('[data-live="PV"][data-value]')) {
          performance.mark('overview-values')
          obs.disconnect()
        }
      }).observe(document, { subtree: true, childList: true, attributes: true })
    })
    const fcp: number[] = []
    const values: number[] = []
    for (let i = 0; i < 7; i++) {
      const p = await chromium.browser.newPage()
      await p.goto(`${demo.url}/#/overview`)
      await p.locator('[data-live="PV"][data-value]').waitFor({ timeout: 30_000 })
      const m = await p.evaluate(() => ({ fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN, values: performance.getEntriesByName('overview-values')[0]?.startTime ?? NaN }))
      fcp.push(m.fcp)
      values.push(m.values)
      await p.close()
    }
    log(`first contentful paint median ${round(median(fcp))} ms; overview with live values ${round(median(values))} ms`)

    // One live update: scripting time (CDP ScriptDuration) per event-stream frame over 20 s on the overview.
    const live = await chromium.browser.newPage()
    await live.goto(`${demo.url}/#/overview`)
    await live.locator('[data-live="PV"][data-value]').waitFor({ timeout: 30_000 })
    const cdp = await chromium.browser.newCDPSession(live)
    await cdp.send('Performance.enable')
    await cdp.send('Network.enable')
    let frames = 0
    cdp.on('Network.webSocketFrameReceived', () => frames++)
    const metric = async (name: string) => (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === name)?.value ?? 0
    const s0 = await metric('ScriptDuration')
    const t0 = await metric('TaskDuration')
    await live.waitForTimeout(20_000)
    const scriptMs = ((await metric('ScriptDuration')) - s0) * 1000
    const taskMs = ((await metric('TaskDuration')) - t0) * 1000
    const perUpdate = { frames, scriptingMsPerUpdate: round(scriptMs / Math.max(1, frames), 2), taskMsPerUpdate: round(taskMs / Math.max(1, frames), 2) }
    log(`live updates: ${frames} frames in 20 s, ${perUpdate.scriptingMsPerUpdate} ms scripting and ${perUpdate.taskMsPerUpdate} ms main-thread work each`)

    const draw = await uplotDrawMs(live, 604_800)
    const drawSmall = await uplotDrawMs(live, 1600)
    log(`uPlot 604,800 points: median ${round(median(draw))} ms (1,600 points: ${round(median(drawSmall))} ms)`)

    const report = {
      bench: 'hmi',
      results: {
        firstContentfulPaintMs: round(median(fcp)),
        overviewWithLiveValuesMs: round(median(values)),
        liveUpdate: perUpdate,
        uplotDraw604800Ms: round(median(draw)),
        uplotDraw1600Ms: round(median(drawSmall)),
        trend90d: trend,
        bundle: { gzipBytes: bundle.totalGzipBytes, rawBytes: bundle.totalBytes, files: bundle.files },
      },
      ratios: {
        firstPaint_overTarget: round(median(fcp) / 1000, 3),
        updateScripting_overTarget: round(perUpdate.scriptingMsPerUpdate / 8, 3),
        draw604800_overTarget: round(median(draw) / 200, 3),
        draw604800_over1600: round(median(draw) / Math.max(0.1, median(drawSmall)), 1),
        trend90d_overTarget: round(trend.defaultMaxPointsBytes / 1_000_000, 3),
        bundle_overTarget: round(bundle.totalGzipBytes / 250_000, 3),
      },
      targets: { firstContentfulPaintMs: '< 1000', scriptingMsPerUpdate: '< 8', uplotDraw604800Ms: '< 200', trend90dBytes: '< 1,000,000', bundleGzipBytes: '< 250,000' },
    }
    process.stdout.write(`${JSON.stringify(report)}\n`)
  } finally {
    await chromium.close()
    await demo.stop()
    rmSync(data, { recursive: true, force: true })
  }
}

await main().catch((error: unknown) => {
  log(error instanceof Error ? (error.stack ?? error.message) : String(error))
  process.exitCode = 1
})
