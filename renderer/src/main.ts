import { mount } from 'svelte'
import App from './App.svelte'
import './app.css'
import { readTokenFromLink } from './lib/readTokenFromLink.ts'
import { SessionStore } from './stores/SessionStore.svelte.ts'
import { SiteStore } from './stores/SiteStore.svelte.ts'
import { createHttpTransport } from './transport/createHttpTransport.ts'
import { createIpcTransport, type GridmeshBridge } from './transport/createIpcTransport.ts'

// Inside the desktop app the preload's bridge is there: the same contract over IPC.
const bridge = (window as { gridmesh?: GridmeshBridge }).gridmesh
const transport = bridge ? createIpcTransport(bridge) : createHttpTransport({ token: readTokenFromLink(location, history, sessionStorage) })
const session = new SessionStore(transport)
const site = new SiteStore(transport)

mount(App, { target: document.getElementById('app') as HTMLElement, props: { session, site, transport } })
