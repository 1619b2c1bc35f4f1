import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { loadSiteFile, parseSiteFile } from '../core/devices/site/loadSiteFile.ts'
import type { BaseError } from '../core/errors/BaseError.ts'
import { describeZodIssue } from '../core/errors/describeZodIssue.ts'
import type { CoreSiteChoice, DemoOptions } from './coreMessages.ts'
import { DesktopError } from './DesktopError.ts'
import type { SitesRequest } from './ipcContract.ts'

const recentSchema = z.strictObject({
  version: z.literal(1),
  sites: z.array(z.strictObject({ id: z.string().regex(/^[a-z0-9-]{1,80}$/), name: z.string().max(200), kind: z.enum(['file', 'demo']), file: z.string().max(4096).nullable(), dataDir: z.string().max(4096), lastOpenedMs: z.number() })).max(50),
})
export type RecentSite = z.infer<typeof recentSchema>['sites'][number]

export type SiteManagerParameters = {
  /** app.getPath('userData'): sites.json and one data folder per site under sites/. */
  userDataDir: string
  /** The open-file dialog; null when cancelled. */
  chooseSiteFile: () => Promise<string | null>
  /** Starts core on the chosen site (stopping the one before); rejects with why it could not. */
  open: (choice: CoreSiteChoice, name: string) => Promise<void>
  now?: () => number
  /** How the demo runs (tests: free ports, a shorter history); default `gridmesh demo`'s. */
  demo?: DemoOptions
}

const slug = (name: string, key: string) => `${name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60) || 'site'}-${createHash('sha256').update(key).digest('hex').slice(0, 8)}`

/**
 * The first-start site manager: recent sites (each with its own data folder under
 * userData/sites/), open a site file, create one from the installer's scan (YAML), or start
 * the demo. Bad input is refused with a message for the window and changes nothing: a
 * corrupt site file is not remembered, a missing data folder is not silently recreated, a
 * new site never replaces an existing folder, and a corrupt sites.json is left as it is.
 */
export function createSiteManager({ userDataDir, chooseSiteFile, open, now = Date.now, demo = {} }: SiteManagerParameters) {
  const recentFile = join(userDataDir, 'sites.json')
  const sitesDir = join(userDataDir, 'sites')

  const readRecent = (): RecentSite[] => {
    if (!existsSync(recentFile)) return []
    let input: unknown
    try {
      input = JSON.parse(readFileSync(recentFile, 'utf8'))
    } catch (cause) {
      throw new DesktopError(`${recentFile}: the list of recent sites is not JSON (${(cause as Error).message}); it was left as it is: move it away to start a new list`)
    }
    const parsed = recentSchema.safeParse(input)
    if (!parsed.success) throw new DesktopError(`${recentFile}: ${parsed.error.issues.map((i) => describeZodIssue(i, input)).join('; ')}; it was left as it is: move it away to start a new list`)
    return parsed.data.sites
  }
  const remember = (site: RecentSite) => {
    const sites = [site, ...readRecent().filter((s) => s.id !== site.id)].slice(0, 20)
    mkdirSync(userDataDir, { recursive: true })
    const tmp = `${recentFile}.${process.pid}.tmp`
    writeFileSync(tmp, `${JSON.stringify({ version: 1, sites }, null, 2)}\n`)
    renameSync(tmp, recentFile)
  }
  const openRemembered = async (site: RecentSite) => {
    // A list that cannot be updated stops the open before anything starts.
    readRecent()
    const choice: CoreSiteChoice = site.kind === 'demo' ? { kind: 'demo', dataDir: site.dataDir, ...demo } : { kind: 'file', file: site.file!, dataDir: site.dataDir }
    await open(choice, site.name)
    remember({ ...site, lastOpenedMs: now() })
    return { opened: { id: site.id, name: site.name, dataDir: site.dataDir } }
  }
  const checkFile = (file: string) => {
    try {
      return loadSiteFile(file)
    } catch (error) {
      const e = error as BaseError & { problems?: string[] }
      throw new DesktopError(`${file}: not a usable site file: ${e.problems?.join('; ') ?? e.shortMessage ?? e.message}. Nothing was opened or changed.`)
    }
  }

  /** A site file given by path (the dialog, or `--site FILE`): checked before anything is created. */
  const openPath = async (file: string) => {
    const site = checkFile(file)
    const id = slug(site.name, file)
    const dataDir = join(sitesDir, id)
    mkdirSync(dataDir, { recursive: true, mode: 0o700 })
    return openRemembered({ id, name: site.name, kind: 'file', file, dataDir, lastOpenedMs: now() })
  }

  return {
    recentFile,
    openPath,
    async handle(request: SitesRequest): Promise<unknown> {
      switch (request.action) {
        case 'list': {
          const sites = readRecent()
          return { sites: sites.map((s) => ({ ...s, missing: !existsSync(s.dataDir) ? 'data folder' : s.kind === 'file' && !existsSync(s.file!) ? 'site file' : null })) }
        }
        case 'openFile': {
          const file = await chooseSiteFile()
          if (!file) return { cancelled: true }
          return openPath(file)
        }
        case 'openRecent': {
          const site = readRecent().find((s) => s.id === request.id)
          if (!site) throw new DesktopError(`no recent site '${request.id}'`)
          if (!existsSync(site.dataDir)) throw new DesktopError(`${site.name}: its data folder ${site.dataDir} is missing (moved or deleted?). Nothing was created in its place: put it back, or open the site file again to start with an empty store.`)
          if (site.kind === 'file') checkFile(site.file!)
          return openRemembered(site)
        }
        case 'startDemo': {
          const dataDir = join(sitesDir, 'demo')
          mkdirSync(dataDir, { recursive: true, mode: 0o700 })
          return openRemembered({ id: 'demo', name: 'Demo microgrid', kind: 'demo', file: null, dataDir, lastOpenedMs: now() })
        }
        case 'createFromYaml': {
          let site
          try {
            site = parseSiteFile(request.siteYaml, `${request.name} (from the scan)`)
          } catch (error) {
            const e = error as BaseError & { problems?: string[] }
            throw new DesktopError(`the site from the scan is not valid: ${e.problems?.join('; ') ?? e.shortMessage}. Nothing was written.`)
          }
          const id = slug(request.name, request.name)
          const dataDir = join(sitesDir, id)
          if (existsSync(dataDir)) throw new DesktopError(`a site named '${request.name}' already exists (${dataDir}); pick another name: nothing was overwritten`)
          mkdirSync(dataDir, { recursive: true, mode: 0o700 })
          const file = join(dataDir, 'site.yaml')
          writeFileSync(file, request.siteYaml, { flag: 'wx' })
          return openRemembered({ id, name: site.name, kind: 'file', file, dataDir, lastOpenedMs: now() })
        }
      }
    },
  }
}
