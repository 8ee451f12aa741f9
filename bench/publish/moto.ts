/**
 * moto's S3 server for bench/publish: a fresh one per contender run (so runs never see each
 * other's objects), on 127.0.0.1 and a free port, stopped by PID; the few S3 calls the benchmark
 * makes itself (create the bucket, count what a run left there); and the measurement of one
 * contender against it (wall time, memory, and whose CPU went where).
 */
import {existsSync} from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'

import {CreateBucketCommand, HeadObjectCommand, ListObjectsV2Command, S3Client} from '@aws-sdk/client-s3'

import {QUIET_LOGGER} from '../../src/lib/storage/s3-config.js'
import {freePort} from '../support/net.js'
import {machineCpuTicks, processCpuSeconds, readMemoryKib} from '../support/proc.js'
import {machineFacts, messageOf} from '../support/report.js'
import {type Command, type RunningServer, type RunOptions, runMeasured, startServerProcess} from '../support/spawn.js'

export const BUCKET = 'livectl-bench'
/** moto accepts any credentials; these keep the SDK from looking for real ones. */
export const FAKE_AWS_ENVIRONMENT = {AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1'}
const BUCKET_ATTEMPTS = 20

export const MOTO_COMMAND = ['python3', '-m', 'moto.server', '-H', '127.0.0.1', '-p', 'PORT']

/** Every moto this process has started (or is starting) and not yet stopped, for a Ctrl-C in the middle of a run. */
const running = new Set<RunningServer>()
const starting = new Set<Promise<RunningServer>>()

export interface Moto {
  endpoint: string
  pid: number
  client: S3Client
}

export async function stopEveryMoto(): Promise<void> {
  const started = await Promise.allSettled([...starting])
  const servers = [...running, ...started.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []))]
  await Promise.all(servers.map((server) => server.stop()))
  running.clear()
}

/**
 * Starts moto, creates the bucket, runs `work({endpoint, pid, client})`, and stops moto by PID
 * whatever happens. Also returns moto's own peak memory (VmHWM) read just before it is stopped.
 */
export async function withMoto<T>({env, cwd}: RunOptions, work: (moto: Moto) => Promise<T>): Promise<{result: T; motoPeakRssMb: number}> {
  const port = await freePort()
  const [file = 'python3', ...args] = MOTO_COMMAND.map((word) => (word === 'PORT' ? String(port) : word))
  // Werkzeug announces " * Running on http://127.0.0.1:PORT" on stderr once it listens.
  const start = startServerProcess(file, args, {cwd, env, stream: 'stderr', pattern: /Running on (http:\/\/127\.0\.0\.1:\d+)/, readyTimeoutMs: 30_000})
  starting.add(start)
  let server: RunningServer
  try {
    server = await start
  } finally {
    starting.delete(start)
  }

  running.add(server)
  const endpoint = server.url
  const client = new S3Client({
    endpoint, forcePathStyle: true, region: FAKE_AWS_ENVIRONMENT.AWS_REGION, credentials: {accessKeyId: 'testing', secretAccessKey: 'testing'},
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED', logger: QUIET_LOGGER,
  })
  try {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await client.send(new CreateBucketCommand({Bucket: BUCKET}))
        break
      } catch (error) {
        if (attempt >= BUCKET_ATTEMPTS) throw new Error(`moto at ${endpoint} did not create the bucket: ${messageOf(error)}`, {cause: error})
        await sleep(100)
      }
    }

    const pid = server.child.pid ?? 0
    const result = await work({endpoint, pid, client})
    return {result, motoPeakRssMb: (readMemoryKib(pid)?.hwmKib ?? 0) / 1024}
  } finally {
    client.destroy()
    await server.stop()
    running.delete(server)
  }
}

/** Objects and bytes under `prefix` (to check that a contender uploaded everything). */
export async function countObjects(client: S3Client, prefix: string): Promise<{objects: number; bytes: number}> {
  let objects = 0
  let bytes = 0
  let token: string | undefined
  do {
    const page = await client.send(new ListObjectsV2Command({Bucket: BUCKET, Prefix: prefix, ContinuationToken: token}))
    for (const object of page.Contents ?? []) {
      objects += 1
      bytes += Number(object.Size ?? 0)
    }

    token = page.IsTruncated ? page.NextContinuationToken : undefined
  } while (token)
  return {objects, bytes}
}

export async function objectSize(client: S3Client, key: string): Promise<number> {
  const head = await client.send(new HeadObjectCommand({Bucket: BUCKET, Key: key}))
  return Number(head.ContentLength ?? 0)
}

/** How busy the machine is with nothing of ours running: other work would slow every contender. */
export async function backgroundBusy(seconds = 3): Promise<number> {
  const before = machineCpuTicks()
  await sleep(seconds * 1000)
  const after = machineCpuTicks()
  return (after.busy - before.busy) / Math.max(1, after.total - before.total)
}

/** GNU time reports the contender's own CPU seconds, so that other processes' load shows apart. */
const GNU_TIME = '/usr/bin/time'
const CPU_MARK = 'BENCH_CONTENDER_CPU'

/**
 * Runs one contender (a single process) while moto runs, and returns its wall time and peak
 * memory (runMeasured), the CPU seconds of the contender (when GNU time is installed) and of moto
 * over the run, and the CPU seconds the whole machine spent, so that what other processes took
 * can be told apart.
 */
export interface MotoRun<Output> {
  wallSeconds: number
  peakRssMb: number
  hwmSumMb: number
  samples: number
  motoCpuSeconds: number
  /** Undefined without GNU time. */
  contenderCpuSeconds?: number
  otherCpuSeconds?: number
  machineBusy: number
  cores: number
  /** The contender's own JSON report: its last line that starts with "{". */
  output: Output
}

export async function measureAgainstMoto<Output>(command: Command, moto: Pick<Moto, 'pid'>, run: RunOptions): Promise<MotoRun<Output>> {
  const timed = existsSync(GNU_TIME)
  const spawned = timed ? {file: GNU_TIME, args: ['-f', `${CPU_MARK} %U %S`, command.file, ...command.args]} : command
  const motoCpuBefore = processCpuSeconds(moto.pid) ?? 0
  const machineBefore = machineCpuTicks()
  const measured = await runMeasured([{...spawned, captureStdout: true}], run)
  const machineAfter = machineCpuTicks()
  const {stdout = '', stderr = ''} = measured.results[0] ?? {}
  const cpu = new RegExp(`${CPU_MARK} ([\\d.]+) ([\\d.]+)`).exec(stderr)
  const cores = machineFacts().cores
  const machineBusy = (machineAfter.busy - machineBefore.busy) / Math.max(1, machineAfter.total - machineBefore.total)
  const motoCpuSeconds = (processCpuSeconds(moto.pid) ?? 0) - motoCpuBefore
  const contenderCpuSeconds = cpu ? Number(cpu[1]) + Number(cpu[2]) : undefined
  const json = stdout.trim()
  return {
    wallSeconds: measured.wallSeconds,
    peakRssMb: measured.peakRssMb,
    hwmSumMb: measured.hwmSumMb,
    samples: measured.samples,
    motoCpuSeconds,
    contenderCpuSeconds,
    // Busy CPU seconds of the whole machine minus moto's and the contender's: everything else.
    otherCpuSeconds: contenderCpuSeconds === undefined ? undefined : machineBusy * cores * measured.wallSeconds - motoCpuSeconds - contenderCpuSeconds,
    machineBusy,
    cores,
    output: JSON.parse(json.slice(json.lastIndexOf('\n{') + 1)) as Output,
  }
}
