/** Runs the built CLI (bin/run.js) as a user would, and reports what it printed and how it exited. */
import {spawn} from 'node:child_process'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {trackChild} from './children.js'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
export const BIN = path.join(ROOT, 'bin', 'run.js')

export interface CliResult {
  exitCode: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface CliRun {
  child: ReturnType<typeof spawn>
  done: Promise<CliResult>
}

export function startCli(args: string[], options: {env?: Record<string, string | undefined>; cwd?: string} = {}): CliRun {
  const env: Record<string, string | undefined> = {...process.env, CI: 'true', ...options.env}
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key]
  const child = trackChild(spawn(process.execPath, [BIN, ...args], {cwd: options.cwd ?? ROOT, env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe']}))
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
  })
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (exitCode, signal) => resolve({exitCode, signal, stdout, stderr}))
  })
  return {child, done}
}

export function runCli(args: string[], options: {env?: Record<string, string | undefined>; cwd?: string} = {}): Promise<CliResult> {
  return startCli(args, options).done
}
