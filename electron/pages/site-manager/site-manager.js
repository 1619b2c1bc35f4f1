// The site manager (first start): talks to main only through the preload's bridge
// (window.gridmesh.sites), and shows every refusal as main worded it. It also shows the
// key vault's passphrase prompt (window.gridmesh.prompt): the typed passphrase goes to
// main once and the fields are cleared; nothing here keeps or shows it.
const bridge = window.gridmesh
const $ = (id) => document.getElementById(id)

function say(text, kind = 'error') {
  const box = $('message')
  box.textContent = text
  box.className = kind
  box.hidden = !text
}

async function ask(request) {
  document.querySelectorAll('button:not(.prompt)').forEach((b) => (b.disabled = true))
  $('busy').hidden = request.action === 'list'
  try {
    const answer = await bridge.sites(request)
    if (!answer.ok) throw new Error(answer.error.message)
    return answer.value
  } finally {
    document.querySelectorAll('button:not(.prompt)').forEach((b) => (b.disabled = false))
    $('busy').hidden = true
  }
}

async function act(request) {
  try {
    say('')
    await ask(request)
  } catch (error) {
    say(error.message)
    void list()
  }
}

async function list() {
  try {
    const { sites } = await ask({ action: 'list' })
    const ul = $('recent')
    ul.replaceChildren()
    if (sites.length === 0) ul.append(Object.assign(document.createElement('li'), { textContent: 'none yet' }))
    for (const site of sites) {
      const li = document.createElement('li')
      const button = Object.assign(document.createElement('button'), { type: 'button', textContent: site.name })
      button.addEventListener('click', () => act({ action: 'openRecent', id: site.id }))
      li.append(button, document.createTextNode(` ${site.dataDir}`))
      if (site.missing) li.append(Object.assign(document.createElement('span'), { className: 'missing', textContent: ` (${site.missing} missing)` }))
      ul.append(li)
    }
  } catch (error) {
    say(error.message)
  }
}

/** Waits for main's prompts one after the other and answers each from the form. */
async function prompts() {
  const form = $('prompt')
  const fields = [$('prompt-passphrase'), $('prompt-confirm')]
  for (;;) {
    const next = await bridge.prompt({ action: 'next' })
    if (!next.ok) return say(next.error.message)
    const { id, reason, confirm, error } = next.value
    $('prompt-reason').textContent = reason
    $('prompt-error').textContent = error ?? ''
    $('prompt-error').hidden = !error
    $('prompt-confirm-label').hidden = !confirm
    $('prompt-ok').textContent = confirm ? 'Seal the key' : 'Unlock'
    form.hidden = false
    fields[0].focus()
    const passphrase = await new Promise((resolve) => {
      form.onsubmit = (event) => {
        event.preventDefault()
        if (!fields[0].value) return say('type the passphrase, or cancel')
        if (confirm && fields[0].value !== fields[1].value) return say('the two passphrases differ: type the same one twice')
        resolve(fields[0].value)
      }
      $('prompt-cancel').onclick = () => resolve(null)
    })
    for (const field of fields) field.value = ''
    form.hidden = true
    say('')
    const answered = await bridge.prompt({ action: 'answer', id, passphrase })
    if (!answered.ok) say(answered.error.message)
  }
}

if (!bridge) say('This page runs inside the GridMesh app only.')
else {
  $('demo').addEventListener('click', () => act({ action: 'startDemo' }))
  $('open').addEventListener('click', () => act({ action: 'openFile' }))
  $('create').addEventListener('click', () => act({ action: 'createFromYaml', name: $('new-name').value, siteYaml: $('new-yaml').value }))
  void list()
  void prompts()
}
