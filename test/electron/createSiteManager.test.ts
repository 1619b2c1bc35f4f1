import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { CoreSiteChoice } from '../../electron/coreMessages.ts'
import { createSiteManager } from '../../electron/createSiteManager.ts'

const goodSite = `name: workshop
devices:
  - name: meter
    connection: { type: tcp, host: 127.0.0.1, port: 5022 }
    unitId: 1
    driver: sunspec
`

function setup(choose: string | null = null) {
  const userDataDir = mkdtempSync(join(tmpdir(), 'gridmesh-sites-'))
  const opened: CoreSiteChoice[] = []
  let failWith: string | null = null
  const manager = createSiteManager({
    userDataDir,
    chooseSiteFile: async () => choose,
    open: async (choice) => {
      if (failWith) throw new Error(failWith)
      opened.push(choice)
    },
    now: () => 1000,
  })
  return { userDataDir, manager, opened, fail: (m: string) => (failWith = m) }
}

describe('createSiteManager (first start)', () => {
  it('opens a good site file with its own data folder and remembers it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gridmesh-sitefile-'))
    writeFileSync(join(dir, 'site.yaml'), goodSite)
    const { manager, opened, userDataDir } = setup(join(dir, 'site.yaml'))
    const answer = (await manager.handle({ action: 'openFile' })) as { opened: { id: string; dataDir: string } }
    expect(opened).toEqual([{ kind: 'file', file: join(dir, 'site.yaml'), dataDir: answer.opened.dataDir }])
    expect(answer.opened.dataDir.startsWith(join(userDataDir, 'sites', 'workshop-'))).toBe(true)
    expect(existsSync(answer.opened.dataDir)).toBe(true)
    const { sites } = (await manager.handle({ action: 'list' })) as { sites: { name: string; missing: string | null }[] }
    expect(sites).toMatchObject([{ name: 'workshop', missing: null }])
  })

  it('a corrupt site file chosen: a message naming the file and the problem, nothing opened, remembered or created', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gridmesh-sitefile-'))
    writeFileSync(join(dir, 'bad.yaml'), 'name: x\ndevices:\n  - name: meter\n    unitId: 0\n')
    const { manager, opened, userDataDir } = setup(join(dir, 'bad.yaml'))
    await expect(manager.handle({ action: 'openFile' })).rejects.toThrow(/bad\.yaml: not a usable site file: .*devices\[0\].*Nothing was opened or changed/)
    writeFileSync(join(dir, 'bad.yaml'), '\u0000\u0001{{{ not yaml')
    await expect(manager.handle({ action: 'openFile' })).rejects.toThrow(/bad\.yaml: not a usable site file/)
    expect(opened).toEqual([])
    expect(existsSync(join(userDataDir, 'sites.json'))).toBe(false)
    expect(existsSync(join(userDataDir, 'sites'))).toBe(false)
  })

  it('a missing data folder: a message saying so, and nothing is created in its place', async () => {
    const { manager, opened } = setup()
    const { opened: demo } = (await manager.handle({ action: 'startDemo' })) as { opened: { dataDir: string } }
    rmSync(demo.dataDir, { recursive: true })
    opened.length = 0
    expect(((await manager.handle({ action: 'list' })) as { sites: { missing: string | null }[] }).sites[0]!.missing).toBe('data folder')
    await expect(manager.handle({ action: 'openRecent', id: 'demo' })).rejects.toThrow(/its data folder .* is missing .*Nothing was created in its place/)
    expect(existsSync(demo.dataDir)).toBe(false)
    expect(opened).toEqual([])
  })

  it('a new site never replaces an existing one, and a bad scan result writes nothing', async () => {
    const { manager, userDataDir } = setup()
    await manager.handle({ action: 'createFromYaml', name: 'barn', siteYaml: goodSite })
    const listBefore = readFileSync(join(userDataDir, 'sites.json'), 'utf8')
    await expect(manager.handle({ action: 'createFromYaml', name: 'barn', siteYaml: goodSite.replace('workshop', 'other') })).rejects.toThrow(/already exists .*nothing was overwritten/)
    await expect(manager.handle({ action: 'createFromYaml', name: 'shed', siteYaml: 'devices: 3' })).rejects.toThrow(/not valid: .*Nothing was written/)
    expect(readFileSync(join(userDataDir, 'sites.json'), 'utf8')).toBe(listBefore)
    expect(existsSync(join(userDataDir, 'sites', 'shed'))).toBe(false)
  })

  it('a corrupt list of recent sites is reported and left as it is', async () => {
    const { manager, userDataDir, opened } = setup()
    writeFileSync(join(userDataDir, 'sites.json'), '{"version":1,"sites":[{"id":"x"')
    await expect(manager.handle({ action: 'list' })).rejects.toThrow(/sites\.json: the list of recent sites is not JSON .*left as it is/)
    await expect(manager.handle({ action: 'startDemo' })).rejects.toThrow(/left as it is/)
    expect(opened).toEqual([])
    expect(readFileSync(join(userDataDir, 'sites.json'), 'utf8')).toBe('{"version":1,"sites":[{"id":"x"')
  })

  it('a site that fails to start is not remembered', async () => {
    const { manager, userDataDir, fail } = setup()
    fail('the simulator did not start')
    await expect(manager.handle({ action: 'startDemo' })).rejects.toThrow(/the simulator did not start/)
    expect(existsSync(join(userDataDir, 'sites.json'))).toBe(false)
  })
})
