/**
 * moto's S3 and CloudFront server on 127.0.0.1 and a free port, stopped by PID. Under CI=true a
 * missing moto is a failure, never a skip.
 */
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import net from 'node:net'

import {trackChild} from './children.js'
import {waitFor} from './wait.js'

export const motoInstalled = spawnSync('python3', ['-c', 'import moto.server'], {stdio: 'ignore'}).status === 0
export const runMotoSuites = motoInstalled || Boolean(process.env.CI && process.env.CI !== 'false')

/**
 * Ports for the servers tests start are drawn at random below the kernel's ephemeral range
 * (32768-60999 here): a port the kernel handed out with `listen(0)` and that was closed again could
 * be taken by any outgoing connection (to Redis, MariaDB, moto) before the server bound it, and the
 * kernel never gives these to connections. A port that is in use is drawn again.
 */
const TEST_PORTS = {first: 20_000, last: 32_000}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = TEST_PORTS.first + Math.floor(Math.random() * (TEST_PORTS.last - TEST_PORTS.first))
    if (await canListen(port)) return port
  }

  throw new Error(`No free port found in ${TEST_PORTS.first}-${TEST_PORTS.last}`)
}

export interface MotoServer {
  endpoint: string
  stop(): Promise<void>
}

/** Credentials and region for the SDK, pointing nowhere but the local server. */
export function useFakeAwsCredentials(): void {
  process.env.AWS_ACCESS_KEY_ID = 'testing'
  process.env.AWS_SECRET_ACCESS_KEY = 'testing'
  process.env.AWS_REGION = 'us-east-1'
  delete process.env.AWS_PROFILE
  delete process.env.AWS_SESSION_TOKEN
}

export async function startMoto(): Promise<MotoServer> {
  if (!motoInstalled) throw new Error('moto is not installed (python3 -m moto.server); the S3/CloudFront tests need it')
  // A port taken between the draw and moto's bind makes moto exit: draw another, twice at most.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startMotoOn(await freePort())
    } catch (error) {
      if (attempt >= 3 || !(error instanceof Error && error.message === 'moto exited')) throw error
    }
  }
}

async function startMotoOn(port: number): Promise<MotoServer> {
  const child: ChildProcess = trackChild(spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {stdio: 'ignore'}))
  const endpoint = `http://127.0.0.1:${port}`
  // Done waiting once it answers, or once it has exited (waitFor would take a throw for "not yet").
  await waitFor(async () => child.exitCode !== null || (await fetch(`${endpoint}/moto-api/`)).status < 500, {what: 'moto to start', timeoutMs: 30_000})
  if (child.exitCode !== null) throw new Error('moto exited')
  return {
    endpoint,
    stop: async () => {
      if (child.exitCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    },
  }
}
