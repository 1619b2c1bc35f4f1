import { svelte } from '@sveltejs/vite-plugin-svelte'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

const root = fileURLToPath(new URL('.', import.meta.url))

// The HMI is served by the site's own API server (core/api/serveHmi.ts) under a strict
// CSP: no inline script, no inline style attribute, so CSS goes to files and the
// module-preload polyfill (an inline-free helper) stays in the bundle.
export default defineConfig({
  root,
  base: './',
  plugins: [svelte()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    chunkSizeWarningLimit: 400,
  },
  server: {
    // `npm run dev` against a running `gridmesh demo`: the API stays same-origin through the proxy.
    proxy: { '/api': { target: process.env.GRIDMESH_API ?? 'http://127.0.0.1:8700', ws: true, changeOrigin: true } },
  },
})
