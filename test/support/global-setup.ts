/**
 * vitest global setup: the integration tests run the built CLI (dist/), so a suite must never run
 * a stale build. `npm test` builds first; a plain `vitest run` after an edit to src/ builds here,
 * once, before any test starts (a build newer than every source file is left alone).
 */
import {execFileSync} from 'node:child_process'
import {readdirSync, statSync} from 'node:fs'
import path from 'node:path'

import {ROOT} from './cli.js'

function newestMtimeMs(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, {withFileTypes: true})) {
    const file = path.join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestMtimeMs(file) : statSync(file).mtimeMs)
  }

  return newest
}

/** When the last build finished: its last step writes the oclif manifest. */
function builtAtMs(): number {
  try {
    return statSync(path.join(ROOT, 'oclif.manifest.json')).mtimeMs
  } catch {
    return 0
  }
}

export default function setup(): void {
  const sources = Math.max(newestMtimeMs(path.join(ROOT, 'src')), statSync(path.join(ROOT, 'package.json')).mtimeMs)
  if (builtAtMs() >= sources) return
  console.log('dist/ is older than src/: building before the tests')
  execFileSync('npm', ['run', 'build', '--silent'], {cwd: ROOT, stdio: 'inherit'})
}
