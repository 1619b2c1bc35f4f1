// The market's keys when the desktop opens a site with a market section (electron faked):
// sealed with the OS keychain where there is one, else under a passphrase asked in the
// window through the preload's prompt channel; a wrong passphrase asked again, a cancel
// stopping the open with the old site still running and the key files untouched.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import type { PassphrasePromptRequest } from '../../electron/createPassphrasePrompt.ts'
import type { IpcAnswer } from '../../electron/registerIpcHandlers.ts'
import { fakeElectron, FakeBrowserWindow } from '../support/fakeElectron.ts'

vi.mock('electron', async () => (await import('../support/fakeElectron.ts')).fakeElectron)

const { startDesktopApp } = await import('../../electron/startDesktopApp.ts')
const { createKeyVault } = await import('../../electron/createKeyVault.ts')

const scrypt = { N: 1024, r: 8, p: 1 }
const siteYaml = (name: string) => `name: ${name}\ndevices:\n  - name: meter1\n    connection: { type: tcp, host: 127.0.0.1 }\nmarket: {}\n`

/** A stand-in core process: records the site choice main sent (with the keys) and says it started. */
const standInCore = `import { writeFileSync } from 'node:fs'
process.on('message', (m) => {
  if (m.type === 'start') {
    writeFileSync(new URL('./started-' + Date.now() + '-' + process.pid + '.json', import.meta.url), JSON.stringify(m.site))
    process.send({ type: 'started', apiUrl: 'http://127.0.0.1:9', signInUrl: 'http://127.0.0.1:9/', site: { name: 'stand-in', dataDir: m.site.dataDir } })
  } else if (m.type === 'stop') {
    process.send({ type: 'stopped' })
    setTimeout(() => process.exit(0), 20)
  }
})
process.send({ type: 'ready', pid: process.pid })
`

describe('market keys in the desktop app', () => {
  it('asks for a passphrase in the window without the OS keychain, asks again on a wrong one, and a cancel changes nothing', async () => {
    const userData = mkdtempSync(join(tmpdir(), 'gridmesh-desktop-keys-'))
    fakeElectron.app.userData = userData
    fakeElectron.safeStorage.available = false
    const coreDir = mkdtempSync(join(tmpdir(), 'gridmesh-stand-in-core-'))
    writeFileSync(join(coreDir, 'core.mjs'), standInCore)
    const started = () => {
      const files = readdirSync(coreDir).sort().filter((f) => f.startsWith('started-'))
      return files.map((f) => JSON.parse(readFileSync(join(coreDir, f), 'utf8')) as { kind: string; dataDir: string; marketKeys?: { site: string; operator: string } })
    }
    const siteFile = join(userData, 'market-site.yaml')
    writeFileSync(siteFile, siteYaml('market-site'))
    const lines: string[] = []
    const desktop = startDesktopApp({ rootDir: '/app', coreEntry: join(coreDir, 'core.mjs'), preload: '/app/electron/preload.cjs', argv: ['electron', '.', '--site', siteFile], scrypt, log: (l) => lines.push(l) })!
    fakeElectron.ready()
    const win = await vi.waitFor(
      () => {
        if (!FakeBrowserWindow.all[0]) throw new Error('no window yet')
        return FakeBrowserWindow.all[0]
      },
      { timeout: 10_000 },
    )
    const invoke = (channel: string, payload: unknown) => fakeElectron.invoke(channel, payload, win.webContents) as Promise<IpcAnswer>
    const nextPrompt = async () => {
      const answer = await invoke('gridmesh:prompt', { action: 'next' })
      if (!answer.ok) throw new Error(answer.error.message)
      return answer.value as PassphrasePromptRequest
    }

    // First open: no keys yet; a new passphrase (typed twice in the page) seals both.
    const first = await nextPrompt()
    expect(first).toEqual({ id: expect.any(Number), reason: expect.stringMatching(/OS keychain is not available: choose a passphrase for key 'site' \(0x[0-9a-fA-F]{40}\)/), confirm: true, error: null })
    // A passphrase that does not fit is refused without being quoted back.
    const tooLong = await invoke('gridmesh:prompt', { action: 'answer', id: first.id, passphrase: `${'x'.repeat(1100)}SECRET-TAIL` })
    expect(tooLong).toMatchObject({ ok: false, error: { status: 400, field: 'passphrase', message: expect.stringMatching(/1 to 1024 characters/) } })
    expect(JSON.stringify(tooLong)).not.toContain('SECRET-TAIL')
    expect(await invoke('gridmesh:prompt', { action: 'answer', id: first.id, passphrase: 'correct horse battery' })).toEqual({ ok: true, value: { answered: true } })
    // The operator key takes the same passphrase: no second prompt; the site opens with both keys.
    await vi.waitFor(() => expect(desktop.core()).not.toBeNull(), { timeout: 30_000, interval: 100 })
    expect(await invoke('gridmesh:prompt', { action: 'answer', id: first.id, passphrase: 'again' })).toMatchObject({ ok: false, error: { status: 404 } })
    const dataDir = started()[0]!.dataDir
    const sealed = ['site', 'operator'].map((name) => readFileSync(join(dataDir, 'keys', `${name}.key.json`), 'utf8'))
    const vault = createKeyVault({ dir: join(dataDir, 'keys'), safeStorage: fakeElectron.safeStorage, askPassphrase: async () => 'correct horse battery', scrypt })
    const keys = { site: await vault.unseal('site'), operator: await vault.unseal('operator') }
    expect(started()).toEqual([{ kind: 'file', file: siteFile, dataDir, marketKeys: keys }])
    for (const text of sealed) {
      expect(JSON.parse(text)).toMatchObject({ kind: 'passphrase' })
      expect(text).not.toContain('correct horse')
      expect(text).not.toContain(keys.site.slice(2))
      expect(text).not.toContain(keys.operator.slice(2))
    }
    expect(lines.join('\n')).not.toContain('correct horse')
    expect(win.webContents.mainFrame.url).toBe('app://gridmesh/index.html')

    // Opened again from the recent list: the HMI gives way to the site manager for the prompt;
    // a wrong passphrase is asked again saying so, and a cancel stops the open.
    const recent = (await invoke('gridmesh:sites', { action: 'list' })) as { ok: true; value: { sites: { id: string }[] } }
    const reopening = invoke('gridmesh:sites', { action: 'openRecent', id: recent.value.sites[0]!.id })
    const unlock = await nextPrompt()
    expect(unlock).toMatchObject({ reason: expect.stringMatching(/the passphrase of key 'site'/), confirm: false, error: null })
    expect(win.webContents.mainFrame.url).toBe('app://gridmesh/site-manager/index.html')
    await invoke('gridmesh:prompt', { action: 'answer', id: unlock.id, passphrase: 'hunter2-typo' })
    const retry = await nextPrompt()
    expect(retry.error).toMatch(/^that passphrase does not open key 'site' .*2 tries left$/)
    expect(JSON.stringify(retry)).not.toContain('hunter2-typo')
    const runningBefore = desktop.core()
    await invoke('gridmesh:prompt', { action: 'answer', id: retry.id, passphrase: null })
    expect(await reopening).toMatchObject({ ok: false, error: { message: expect.stringMatching(/no passphrase given; nothing was changed/) } })
    // The site that ran goes on running, and the sealed keys are as they were.
    expect(desktop.core()).toBe(runningBefore)
    expect(['site', 'operator'].map((name) => readFileSync(join(dataDir, 'keys', `${name}.key.json`), 'utf8'))).toEqual(sealed)

    // The right passphrase: one prompt opens both keys, the same ones.
    const reopened = invoke('gridmesh:sites', { action: 'openRecent', id: recent.value.sites[0]!.id })
    const again = await nextPrompt()
    await invoke('gridmesh:prompt', { action: 'answer', id: again.id, passphrase: 'correct horse battery' })
    expect(await reopened).toMatchObject({ ok: true })
    expect(started().at(-1)).toEqual({ kind: 'file', file: siteFile, dataDir, marketKeys: keys })

    // With the OS keychain, a new site's keys are sealed there and nothing is asked.
    fakeElectron.safeStorage.available = true
    const created = await invoke('gridmesh:sites', { action: 'createFromYaml', name: 'keychain site', siteYaml: siteYaml('keychain-site') })
    expect(created).toMatchObject({ ok: true })
    const keychainDir = started().at(-1)!.dataDir
    expect(started().at(-1)!.marketKeys).toEqual({ site: expect.stringMatching(/^0x[0-9a-f]{64}$/), operator: expect.stringMatching(/^0x[0-9a-f]{64}$/) })
    expect(JSON.parse(readFileSync(join(keychainDir, 'keys', 'operator.key.json'), 'utf8'))).toMatchObject({ kind: 'safeStorage' })

    fakeElectron.app.quit()
    await desktop.quitting()
    expect(fakeElectron.app.exited).toBe(true)
    expect(existsSync(join(dataDir, 'keys', 'site.key.json'))).toBe(true)
  }, 120_000)
})
