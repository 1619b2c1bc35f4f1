#!/usr/bin/env node
// The gridmesh CLI. The sources are TypeScript run through tsx's loader, so a clone
// works without a build step; packaged builds bundle the same entry.
import { register } from 'tsx/esm/api'

register()
await import('./main.ts')
