import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['core/**/*.test.ts', 'hardware-sims/**/*.test.ts', 'models/**/*.test.ts', 'electron/**/*.test.ts', 'contracts/**/*.test.ts', 'test/**/*.test.ts', 'renderer/**/*.test.ts'],
    pool: 'forks',
    globalSetup: ['test/support/tempRoot.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
  },
})
