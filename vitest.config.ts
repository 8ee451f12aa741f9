import {defineConfig} from 'vitest/config'

const BROWSER_TESTS = ['test/integration/watch-page.test.ts']

export default defineConfig({
  test: {
    // Integration tests run real ffmpeg; on 2 cores, two files at a time keeps the machine responsive.
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Whatever a test file started and left running is stopped when the file ends (test/support/children.ts).
    setupFiles: ['test/support/setup-children.ts'],
    // Never a stale dist/: a plain `vitest run` after an edit builds first (npm test already has).
    globalSetup: ['test/support/global-setup.ts'],
    projects: [
      {extends: true, test: {name: 'node', include: ['test/**/*.test.ts'], exclude: BROWSER_TESTS, sequence: {groupOrder: 0}}},
      // Chromium decoding video takes a core: it runs after the rest, not beside live encoders.
      {extends: true, test: {name: 'browser', include: BROWSER_TESTS, sequence: {groupOrder: 1}}},
    ],
  },
})
