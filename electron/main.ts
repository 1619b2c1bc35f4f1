// The desktop app's entry (built to dist/electron/main.js; package.json's "main").
import { fileURLToPath } from 'node:url'
import { startDesktopApp } from './startDesktopApp.ts'

startDesktopApp({
  rootDir: fileURLToPath(new URL('..', import.meta.url)),
  coreEntry: fileURLToPath(new URL('./coreProcess.js', import.meta.url)),
  preload: fileURLToPath(new URL('./preload.cjs', import.meta.url)),
})
