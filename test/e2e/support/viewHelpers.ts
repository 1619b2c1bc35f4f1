import { mkdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'

export const screenshotDir = join(process.cwd(), 'test-results', 'screenshots')
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

/** Every console error, page error and CSP violation of a browser context, with the time it happened. */
export function watchConsole(context: BrowserContext): { errors: { atMs: number; text: string }[] } {
  const log = { errors: [] as { atMs: number; text: string }[] }
  // Runs before any page script, outside the page's CSP (an init script is not inline script).
  void context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`))
  })
  const attach = (page: Page) => {
    page.on('console', (m) => {
      // Chromium's "Failed to load resource" line has no URL; the response listener below names it.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource: the server responded')) log.errors.push({ atMs: Date.now(), text: `${page.url()}: ${m.text()}` })
    })
    page.on('response', (r) => {
      if (r.status() >= 400) log.errors.push({ atMs: Date.now(), text: `${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}` })
    })
    page.on('pageerror', (e) => log.errors.push({ atMs: Date.now(), text: `${page.url()}: uncaught ${e.message}` }))
  }
  context.pages().forEach(attach)
  context.on('page', attach)
  return log
}

/** Opens a view by its hash route and waits until its heading is there. */
export async function openView(page: Page, base: string, view: string, heading: RegExp | string): Promise<void> {
  await page.goto(`${base}/#/${view}`)
  await page.getByRole('heading', { level: 1, name: heading }).waitFor({ timeout: 30_000 })
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(screenshotDir, { recursive: true })
  const path = join(screenshotDir, `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  return path
}

export type AxeViolation = { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }

/** axe-core run in the page (evaluated over CDP, so the page's CSP still holds for everything else); serious and critical violations only. */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource)
  const result = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: AxeViolation[] }> } }).axe
    return axe.run(document, { resultTypes: ['violations'] })
  })
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target })) }))
}

/** Polls `probe` until it returns a value that is not undefined; fails with the last state `describe` gives. */
export async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 60_000, describe: () => Promise<string> | string = () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown = null
  for (;;) {
    try {
      const v = await probe()
      if (v !== undefined) return v
    } catch (error) {
      lastError = error
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}\n${await describe()}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}
