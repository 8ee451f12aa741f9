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

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
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
  const port = await freePort()
  const child: ChildProcess = trackChild(spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {stdio: 'ignore'}))
  const endpoint = `http://127.0.0.1:${port}`
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error('moto exited')
    return (await fetch(`${endpoint}/moto-api/`)).status < 500
  }, {what: 'moto to start', timeoutMs: 30_000})
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
