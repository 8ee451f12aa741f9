/**
 * Publish benchmark: `livectl publish` of real packages of about 1,000 segment files (the
 * `ladder` package: 1080p with livectl's default ladder, the one the targets are judged on; the
 * `small` one: 144p only, for reference), and livectl's per-file upload path on one 1 GiB file,
 * to a local S3 server (moto), against the ceiling measured in the same session: a plain
 * concurrent PutObject loop over the same files at the same concurrency, and a plain lib-storage
 * multipart Upload of the same file with the same part size and queue. Also the no-change re-run
 * against the first publish's objects.
 *
 *   npm run bench:publish                        builds, then runs the defaults (3 rounds, concurrency 8, both packages)
 *   npx tsx bench/publish/main.ts --runs 3 --concurrency 8 [--packages ladder,small] [--skip-1gib] [--keep]
 *
 * Each contender run gets a fresh moto (started, bucket created, stopped by PID), except the
 * re-runs, which run against the objects of the publish just before them. Each round runs, for
 * each package: livectl publish, its re-run, the PutObject ceiling; then livectl's 1 GiB path,
 * its re-run, the Upload ceiling. Afterwards one pass of diagnostics (time per step of a publish
 * of the ladder package, and the Upload ceiling with livectl's 8 MiB read buffer). Writes the
 * `## Publish` section of BENCHMARKS.md.
 */
import {mkdir, rm, writeFile} from 'node:fs/promises'
import path from 'node:path'
import process from 'node:process'
import {parseArgs} from 'node:util'

import * as s3 from '../../src/lib/storage/s3-config.js'
import {BENCHMARKS_FILE, REPO_ROOT, repoPath} from '../support/paths.js'
import {formatCommand, loadAverage, machineFacts, messageOf, writeSection} from '../support/report.js'
import {benchEnvironment, capture, type Command, type RunOptions} from '../support/spawn.js'
import {
  assertMemoryFor, assertMemoryForBigUpload, BIG_BYTES, BIG_FILE, bigPartial, type BenchPackage, ensureBigFile, ensurePackage, PACKAGES, WORK_DIR,
} from './inputs.js'
import {BUCKET, backgroundBusy, countObjects, FAKE_AWS_ENVIRONMENT, measureAgainstMoto, MOTO_COMMAND, type MotoRun, objectSize, stopEveryMoto, withMoto} from './moto.js'
import {type ContenderCommands, contenderCommands, PART_BYTES, PART_QUEUE} from './commands.js'
import {renderPublishReport} from './report.js'
import type {BigOutput, CeilingOutput, Diagnosis, Measurement, PublishOptions, PublishOutput, PublishReport, StepsOutput} from './results.js'

const say = (line: string) => process.stdout.write(`${line}\n`)

function parseOptions(): PublishOptions {
  const {values} = parseArgs({
    options: {
      runs: {type: 'string', default: '3'},
      concurrency: {type: 'string', default: '8'},
      packages: {type: 'string', default: PACKAGES.map((descriptor) => descriptor.id).join(',')},
      'skip-1gib': {type: 'boolean', default: false},
      keep: {type: 'boolean', default: false},
      help: {type: 'boolean', short: 'h', default: false},
    },
  })
  if (values.help) {
    process.stdout.write(
      `Usage: npx tsx bench/publish/main.ts [--runs N (default 3)] [--concurrency N (default 8)] [--packages ${PACKAGES.map((descriptor) => descriptor.id).join(',')} (default: all, in this order)] ` +
        '[--skip-1gib] [--keep (the 1 GiB file)]\n',
    )
    process.exit(0)
  }

  const integer = (name: 'runs' | 'concurrency', min: number, max: number) => {
    const value = Number(values[name])
    if (!Number.isInteger(value) || value < min || value > max) throw new Error(`--${name} must be an integer from ${min} to ${max} (got ${values[name]})`)
    return value
  }

  const ids = [...new Set(values.packages.split(',').map((id) => id.trim()).filter(Boolean))]
  const unknown = ids.filter((id) => !PACKAGES.some((descriptor) => descriptor.id === id))
  if (ids.length === 0 || unknown.length > 0) {
    throw new Error(`--packages must list some of ${PACKAGES.map((descriptor) => descriptor.id).join(', ')} (got ${values.packages})`)
  }

  return {
    runs: integer('runs', 1, 100),
    concurrency: integer('concurrency', 1, 64),
    packages: ids,
    allPackages: PACKAGES.every((descriptor) => ids.includes(descriptor.id)),
    skipBig: values['skip-1gib'],
    keep: values.keep,
  }
}

function logRun(round: number | string, id: string, m: MotoRun<unknown>, extra = ''): void {
  say(
    `round ${round}  ${id.padEnd(16)} ${m.wallSeconds.toFixed(2).padStart(7)} s  peak RSS ${m.peakRssMb.toFixed(0).padStart(4)} MB  ` +
      `CPU (% of a core): moto ${((100 * m.motoCpuSeconds) / m.wallSeconds).toFixed(0)}, contender ${((100 * (m.contenderCpuSeconds ?? Number.NaN)) / m.wallSeconds).toFixed(0)}, ` +
      `others ${((100 * (m.otherCpuSeconds ?? Number.NaN)) / m.wallSeconds).toFixed(0)}${extra}`,
  )
}

/** Checks what a contender left in the bucket, so that a fast run that uploaded nothing is caught. */
function expect(condition: boolean, message: string): void {
  if (!condition) throw new Error(`sanity check failed: ${message}`)
}

interface Context {
  options: PublishOptions
  run: RunOptions
  commands: ContenderCommands
  packages: BenchPackage[]
  measurements: Measurement[]
  motoVersion?: string
  diagnosis?: Diagnosis
  diagnosisError?: string
  busyAtEnd?: number
}

/** One package in one round: livectl publish and its re-run (same moto, same data directory), then the PutObject ceiling. */
async function packageRound(round: number, pkg: BenchPackage, context: Context): Promise<void> {
  const {run, commands, measurements} = context
  const dataDir = path.join(WORK_DIR, `data-${pkg.id}-round${round}`)
  await rm(repoPath(dataDir), {recursive: true, force: true})
  const record = (id: string, m: MotoRun<Measurement['output']>, moto: number) => measurements.push({round, id: `${pkg.id}-${id}`, ...m, motoPeakRssMb: moto})
  const label = (what: string) => `${pkg.id} ${what}`

  await assertMemoryFor(pkg.bytes, `the ${pkg.name} (${(pkg.bytes / 1e6).toFixed(0)} MB)`)
  const first = await withMoto(run, async (moto) => {
    const publish = await measureAgainstMoto<PublishOutput>(commands.livectl(pkg, moto.endpoint, dataDir), moto, run)
    const stored = await countObjects(moto.client, `livectl/${pkg.videoId}/`)
    expect(
      publish.output.uploaded === pkg.files && stored.objects === pkg.files && stored.bytes === pkg.bytes,
      `livectl publish of the ${pkg.name} uploaded ${publish.output.uploaded} files and stored ${stored.objects} objects, ${stored.bytes} bytes; expected ${pkg.files}, ${pkg.bytes}`,
    )
    logRun(round, label('livectl publish'), publish, `, ${publish.output.uploaded} uploaded`)
    const rerun = await measureAgainstMoto<PublishOutput>(commands.livectl(pkg, moto.endpoint, dataDir), moto, run)
    expect(rerun.output.uploaded === 0 && rerun.output.skipped === pkg.files, `the re-run of the ${pkg.name} uploaded ${rerun.output.uploaded} files, skipped ${rerun.output.skipped}`)
    logRun(round, label('livectl re-run'), rerun, `, ${rerun.output.skipped} skipped`)
    return {publish, rerun}
  })
  record('livectl', first.result.publish, first.motoPeakRssMb)
  record('rerun', first.result.rerun, first.motoPeakRssMb)
  await rm(repoPath(dataDir), {recursive: true, force: true})

  await assertMemoryFor(pkg.bytes, `the ${pkg.name} (${(pkg.bytes / 1e6).toFixed(0)} MB)`)
  const ceiling = await withMoto(run, async (moto) => {
    const m = await measureAgainstMoto<CeilingOutput>(commands.ceiling(pkg, moto.endpoint), moto, run)
    const stored = await countObjects(moto.client, `ceiling/${pkg.videoId}/`)
    expect(
      m.output.files === pkg.files && stored.objects === pkg.files && stored.bytes === pkg.bytes,
      `the ceiling put ${m.output.files} files of the ${pkg.name} and stored ${stored.objects} objects, ${stored.bytes} bytes; expected ${pkg.files}, ${pkg.bytes}`,
    )
    logRun(round, label('PutObject loop'), m, `, ${m.output.files} files`)
    return m
  })
  record('ceiling', ceiling.result, ceiling.motoPeakRssMb)
}

async function bigRound(round: number, {run, commands, measurements}: Context): Promise<void> {
  const record = (id: string, m: MotoRun<Measurement['output']>, moto: number) => measurements.push({round, id, ...m, motoPeakRssMb: moto})
  await assertMemoryForBigUpload()
  const dataDir = path.join(WORK_DIR, `data-big-round${round}`)
  await rm(repoPath(dataDir), {recursive: true, force: true})
  const first = await withMoto(run, async (moto) => {
    const upload = await measureAgainstMoto<BigOutput>(commands.bigLivectl(moto.endpoint, dataDir), moto, run)
    expect(upload.output.action === 'upload' && (await objectSize(moto.client, 'livectl/big/random-1gib.bin')) === BIG_BYTES, 'livectl did not store the 1 GiB object')
    logRun(round, 'livectl 1 GiB', upload, `, listing ${upload.output.listSeconds.toFixed(2)} s, hash and put ${upload.output.restSeconds.toFixed(2)} s`)
    const rerun = await measureAgainstMoto<BigOutput>(commands.bigLivectl(moto.endpoint, dataDir), moto, run)
    expect(rerun.output.action === 'skip', 'the 1 GiB re-run uploaded again')
    logRun(round, 'livectl 1 GiB re', rerun, `, listing ${rerun.output.listSeconds.toFixed(2)} s, compare ${rerun.output.restSeconds.toFixed(2)} s`)
    return {upload, rerun}
  })
  await rm(repoPath(dataDir), {recursive: true, force: true})
  record('big-livectl', first.result.upload, first.motoPeakRssMb)
  record('big-rerun', first.result.rerun, first.motoPeakRssMb)
  await assertMemoryForBigUpload()
  const ceiling = await withMoto(run, async (moto) => {
    const m = await measureAgainstMoto<CeilingOutput>(commands.bigCeiling(moto.endpoint), moto, run)
    expect((await objectSize(moto.client, 'ceiling/big/random-1gib.bin')) === BIG_BYTES, 'the ceiling did not store the 1 GiB object')
    logRun(round, 'Upload 1 GiB', m)
    return m
  })
  record('big-ceiling', ceiling.result, ceiling.motoPeakRssMb)
}

/**
 * One pass: where a publish's time goes, step by step (on the ladder package, or the first one run
 * when it is left out), and what the 8 MiB read buffer costs in memory.
 */
async function diagnostics(context: Context): Promise<Diagnosis> {
  const {options, run, commands, packages} = context
  const pkg = packages.find((candidate) => candidate.target) ?? packages[0]
  if (!pkg) throw new Error('no package to diagnose')
  // Kept in the context as it fills, so that a failure later in the pass keeps what came before.
  const result: Diagnosis = {stepsPackage: pkg.id}
  context.diagnosis = result
  // The publish's data directory keeps its digest cache for the cache step; the fresh one gets
  // the cache write and the catalog of a first publish.
  const dataDir = path.join(WORK_DIR, 'data-steps')
  const freshDataDir = path.join(WORK_DIR, 'data-steps-fresh')
  const clean = () => Promise.all([dataDir, freshDataDir].map((dir) => rm(repoPath(dir), {recursive: true, force: true})))
  await clean()
  const stepsArgs = (endpoint: string) => [
    'bench/publish/steps.mjs', '--package', pkg.dir, '--to', `s3://${BUCKET}/livectl`, '--video-id', pkg.videoId, '--s3-endpoint', endpoint,
    '--concurrency', String(options.concurrency), '--data-dir', dataDir, '--fresh-data-dir', freshDataDir,
  ]
  result.stepsCommand = formatCommand('node', stepsArgs('ENDPOINT'))
  // moto holds the publish, then every file again under the put step's own prefix.
  await assertMemoryFor(2 * pkg.bytes, `two copies of the ${pkg.name} (${((2 * pkg.bytes) / 1e6).toFixed(0)} MB)`)
  try {
    await withMoto(run, async (moto) => {
      const publish = commands.livectl(pkg, moto.endpoint, dataDir)
      await capture(publish.file, publish.args, run)
      const out = (await capture(process.execPath, stepsArgs(moto.endpoint), run)).trim()
      result.steps = JSON.parse(out.slice(out.lastIndexOf('\n{') + 1)) as StepsOutput
    })
  } finally {
    await clean()
  }

  say(`steps (${pkg.name}): ${(result.steps?.steps ?? []).map((step) => `${step.id} ${step.seconds.toFixed(2)} s`).join(', ')}`)

  if (!options.skipBig) {
    await assertMemoryForBigUpload()
    const buffered = await withMoto(run, (moto) => measureAgainstMoto<CeilingOutput>(commands.bigCeiling(moto.endpoint, PART_BYTES), moto, run))
    result.bufferedCeiling = {...buffered.result, motoPeakRssMb: buffered.motoPeakRssMb, command: formatCommand('node', commands.bigCeiling('ENDPOINT', PART_BYTES).args)}
    logRun('-', 'Upload 8MiB buf', buffered.result)
  }

  return result
}

async function main(): Promise<void> {
  const options = parseOptions()
  if (s3.MULTIPART_PART_BYTES !== PART_BYTES) throw new Error(`livectl's multipart part size is now ${s3.MULTIPART_PART_BYTES}: update PART_BYTES in bench/publish/main.ts`)
  if (s3.MULTIPART_QUEUE !== PART_QUEUE) throw new Error(`livectl's multipart queue is now ${s3.MULTIPART_QUEUE}: update PART_QUEUE in bench/publish/main.ts`)
  const env: NodeJS.ProcessEnv = {...benchEnvironment(), ...FAKE_AWS_ENVIRONMENT}
  for (const name of ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_S3']) delete env[name]
  const run = {cwd: REPO_ROOT, env}
  await mkdir(repoPath(WORK_DIR), {recursive: true})

  const packages: BenchPackage[] = []
  for (const id of options.packages) {
    const descriptor = PACKAGES.find((candidate) => candidate.id === id)
    if (descriptor) packages.push(await ensurePackage(run, descriptor))
  }
  const startedAt = new Date()
  const loadAtStart = loadAverage()
  const busyAtStart = await backgroundBusy()
  say(`Machine busy before the rounds (3 s, nothing of ours running): ${(100 * busyAtStart).toFixed(0)}% of all cores`)
  const commands = contenderCommands(options)
  const context: Context = {options, run, commands, packages, measurements: []}
  const removeBigFile = async () => {
    await rm(repoPath(bigPartial()), {force: true})
    if (!options.skipBig && !options.keep) await rm(repoPath(BIG_FILE), {force: true})
  }
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`\nbench/publish: ${signal}: stopping moto${options.keep || options.skipBig ? '' : ' and removing the 1 GiB file'}\n`)
    void Promise.allSettled([stopEveryMoto(), removeBigFile()]).finally(() => process.exit(130))
  }

  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  let diagnosis: Diagnosis | undefined
  try {
    if (!options.skipBig) await ensureBigFile()
    const moto = (await capture('python3', ['-c', 'import moto; print(moto.__version__)'], run)).trim()
    context.motoVersion = moto
    for (let round = 1; round <= options.runs; round += 1) {
      for (const pkg of packages) await packageRound(round, pkg, context)
      if (!options.skipBig) await bigRound(round, context)
    }

    // The rounds are the result: a failure in the diagnostics leaves them out of the report, not the rounds.
    try {
      await diagnostics(context)
    } catch (error) {
      context.diagnosisError = messageOf(error)
      process.stderr.write(`bench/publish: the diagnostics failed; the report is written without them:\n${context.diagnosisError}\n`)
    }

    diagnosis = context.diagnosis
    context.busyAtEnd = await backgroundBusy()
  } finally {
    await removeBigFile()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }

  const display = (command: Command, endpoint = 'ENDPOINT') => formatCommand('node', command.args).replace(endpoint, 'ENDPOINT')
  const report: PublishReport = {
    options,
    startedAt,
    loadAtStart,
    loadAtEnd: loadAverage(),
    busyAtStart,
    busyAtEnd: context.busyAtEnd,
    machine: machineFacts(),
    motoVersion: context.motoVersion,
    motoCommand: MOTO_COMMAND.join(' '),
    packages,
    bigBytes: BIG_BYTES,
    bigFile: BIG_FILE,
    partBytes: PART_BYTES,
    partQueue: PART_QUEUE,
    measurements: context.measurements,
    diagnosis,
    diagnosisError: context.diagnosisError,
    commands: {
      packages: packages.map((pkg) => ({
        id: pkg.id,
        livectl: display(commands.livectl(pkg, 'ENDPOINT', path.join(WORK_DIR, `data-${pkg.id}-roundN`))),
        ceiling: display(commands.ceiling(pkg, 'ENDPOINT')),
      })),
      bigLivectl: display(commands.bigLivectl('ENDPOINT', path.join(WORK_DIR, 'data-big-roundN'))),
      bigCeiling: display(commands.bigCeiling('ENDPOINT')),
    },
  }
  // Everything the section is made of, to look at again without running again.
  await writeFile(repoPath(path.join(WORK_DIR, 'last-run.json')), `${JSON.stringify(report, null, 2)}\n`)
  const section = renderPublishReport(report)
  say(`\n${section}`)
  await writeSection(BENCHMARKS_FILE, section)
  say('Wrote the "## Publish" section of BENCHMARKS.md')
  if (context.diagnosisError) process.exitCode = 1
}

try {
  await main()
} catch (error) {
  process.stderr.write(`bench/publish: ${messageOf(error)}\n`)
  process.exitCode = 1
}
