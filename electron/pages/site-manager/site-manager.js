// The site manager (first start): talks to main only through the preload's bridge
// (window.gridmesh.sites), and shows every refusal as main worded it.
const bridge = window.gridmesh
const $ = (id) => document.getElementById(id)

function say(text, kind = 'error') {
  const box = $('message')
  box.textContent = text
  box.className = kind
  box.hidden = !text
}

async function ask(request) {
  document.querySelectorAll('button').forEach((b) => (b.disabled = true))
  $('busy').hidden = request.action === 'list'
  try {
    const answer = await bridge.sites(request)
    if (!answer.ok) throw new Error(answer.error.message)
    return answer.value
  } finally {
    document.querySelectorAll('button').forEach((b) => (b.disabled = false))
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

if (!bridge) say('This page runs inside the GridMesh app only.')
else {
  $('demo').addEventListener('click', () => act({ action: 'startDemo' }))
  $('open').addEventListener('click', () => act({ action: 'openFile' }))
  $('create').addEventListener('click', () => act({ action: 'createFromYaml', name: $('new-name').value, siteYaml: $('new-yaml').value }))
  void list()
}
