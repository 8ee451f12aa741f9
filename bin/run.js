#!/usr/bin/env node
import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

// livectl runs on Node 22 or newer (24 LTS). Started by an older Node (this machine's system Node 20, say),
// it re-runs itself on the Node 24 that scripts/setup.sh installed into .node/, or says what to do.
const major = Number(process.versions.node.split('.')[0])
if (major < 22) {
  const node = fileURLToPath(new URL('../.node/bin/node', import.meta.url))
  if (!existsSync(node)) {
    process.stderr.write(
      `Error: livectl needs Node.js 22 or newer; this is ${process.version}.\n` +
        'Hint: run scripts/setup.sh (it installs Node 24 into .node/ from the npm registry) or install Node 24 LTS.\n',
    )
    process.exit(2)
  }
  const child = spawn(node, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {stdio: 'inherit'})
  // A supervisor's SIGTERM/SIGHUP to this process reaches livectl; it exits with livectl's status. Ctrl-C
  // already reaches both (the terminal signals the whole foreground group), and a second SIGINT would tell
  // livectl to stop at once, so SIGINT is only kept from killing this process before livectl has stopped.
  for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal))
  process.on('SIGINT', () => {})
  child.on('error', (error) => {
    process.stderr.write(`Error: could not start ${node}: ${error.message}\n`)
    process.exit(3)
  })
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal)
      process.kill(process.pid, signal)
    }
    process.exit(code ?? 70)
  })
} else {
  const {execute} = await import('@oclif/core')
  await execute({dir: import.meta.url})
}
