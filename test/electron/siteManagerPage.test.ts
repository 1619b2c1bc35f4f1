// The site manager page's passphrase prompt, run against a small stand-in of the DOM and
// the preload's bridge: it shows main's prompt, checks a new passphrase was typed twice,
// sends it once, clears the fields and never writes it into the page.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

type FakeElement = { id: string; textContent: string; hidden: boolean; value: string; className: string; disabled: boolean; type?: string; onsubmit: ((e: { preventDefault(): void }) => void) | null; onclick: (() => void) | null; focused: number; focus(): void; addEventListener(type: string, l: () => void): void; replaceChildren(): void; append(...children: unknown[]): void }

function loadPage(prompts: unknown[], { sitesPending = false } = {}) {
  const ids = ['message', 'busy', 'recent', 'demo', 'open', 'create', 'new-name', 'new-yaml', 'prompt', 'prompt-reason', 'prompt-error', 'prompt-passphrase', 'prompt-confirm', 'prompt-confirm-label', 'prompt-ok', 'prompt-cancel']
  const make = (id: string): FakeElement => ({
    id,
    textContent: '',
    hidden: id === 'prompt',
    value: '',
    className: id.startsWith('prompt-') && /ok|cancel/.test(id) ? 'prompt' : '',
    disabled: false,
    onsubmit: null,
    onclick: null,
    focused: 0,
    focus() {
      this.focused++
    },
    addEventListener() {},
    replaceChildren() {},
    append() {},
  })
  const elements = new Map(ids.map((id) => [id, make(id)]))
  const buttons = ['demo', 'open', 'create', 'prompt-ok', 'prompt-cancel'].map((id) => elements.get(id)!)
  const document = {
    getElementById: (id: string) => elements.get(id) ?? null,
    querySelectorAll: (selector: string) => (selector === 'button:not(.prompt)' ? buttons.filter((b) => b.className !== 'prompt') : selector === 'button' ? buttons : []),
    createElement: () => make('new'),
    createTextNode: (text: string) => ({ text }),
  }
  const sent: unknown[] = []
  const queue = [...prompts]
  const bridge = {
    sites: () => (sitesPending ? new Promise(() => {}) : Promise.resolve({ ok: true, value: { sites: [] } })),
    prompt: async (request: { action: string }) => {
      sent.push(request)
      if (request.action === 'answer') return { ok: true, value: { answered: true } }
      const next = queue.shift()
      return next ? { ok: true, value: next } : new Promise(() => {})
    },
  }
  const source = readFileSync(new URL('../../electron/pages/site-manager/site-manager.js', import.meta.url), 'utf8')
  new Function('window', 'document', source)({ gridmesh: bridge }, document)
  const el = (id: string) => elements.get(id)!
  const submit = () => el('prompt').onsubmit!({ preventDefault() {} })
  return { el, sent, submit, elements }
}

const settle = () => new Promise((r) => setTimeout(r, 0))

describe('the site manager page: passphrase prompt', () => {
  it('shows the prompt, wants a new passphrase twice, sends it once and keeps it nowhere in the page', async () => {
    const { el, sent, submit, elements } = loadPage([{ id: 4, reason: "choose a passphrase for key 'site' (0xabc)", confirm: true, error: null }])
    await settle()
    expect(el('prompt').hidden).toBe(false)
    expect(el('prompt-reason').textContent).toBe("choose a passphrase for key 'site' (0xabc)")
    expect(el('prompt-confirm-label').hidden).toBe(false)
    expect(el('prompt-passphrase').focused).toBe(1)
    el('prompt-passphrase').value = 'tr0ub4dor&3'
    el('prompt-confirm').value = 'tr0ub4dor&4'
    submit()
    await settle()
    expect(el('message').textContent).toMatch(/the two passphrases differ/)
    expect(sent).toEqual([{ action: 'next' }])
    el('prompt-confirm').value = 'tr0ub4dor&3'
    submit()
    await settle()
    expect(sent).toEqual([{ action: 'next' }, { action: 'answer', id: 4, passphrase: 'tr0ub4dor&3' }, { action: 'next' }])
    expect(el('prompt-passphrase').value).toBe('')
    expect(el('prompt-confirm').value).toBe('')
    expect(el('prompt').hidden).toBe(true)
    for (const element of elements.values()) expect(element.textContent).not.toContain('tr0ub4dor')
  })

  it('shows why the last passphrase failed, works while a site is opening, and a cancel answers null', async () => {
    const { el, sent } = loadPage([{ id: 7, reason: "the passphrase of key 'operator' (0xdef)", confirm: false, error: 'that passphrase does not open key; 2 tries left' }], { sitesPending: true })
    await settle()
    expect(el('prompt-error').textContent).toBe('that passphrase does not open key; 2 tries left')
    expect(el('prompt-error').hidden).toBe(false)
    expect(el('prompt-confirm-label').hidden).toBe(true)
    // The page's other buttons are disabled while its request to main is pending (a site opening); the prompt's are not.
    expect(el('demo').disabled).toBe(true)
    expect(el('prompt-ok').disabled).toBe(false)
    expect(el('prompt-cancel').disabled).toBe(false)
    el('prompt-cancel').onclick!()
    await settle()
    expect(sent).toContainEqual({ action: 'answer', id: 7, passphrase: null })
  })
})
