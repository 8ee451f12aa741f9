/**
 * Publish benchmark: `livectl publish` of a real package of about 1,000 segment files, and
 * livectl's per-file publish path on one 1 GiB file, to a local S3 server (moto), against the
 * ceiling measured in the same session: a plain concurrent PutObject loop over the same files at
 * the same concurrency, and a plain lib-storage multipart Upload of the same file with the same
 * part size and queue. Also the no-change re-run against the first publish's objects.
 *
 *   npm run bench:publish                        builds, then runs the defaults (3 rounds, concurrency 8)
 *   node bench/publish.mjs --runs 3 --concurrency 8 [--skip-1gib] [--keep]
 *
 * Each contender run gets a fresh moto (started, bucket created, stopped by PID), except the
 * re-runs, which run against the objects of the publish just before them. Each round runs:
 * livectl publish, its re-run, the PutObject ceiling, livectl's 1 GiB path, its re-run, the
 * Upload ceiling. Afterwards one pass of diagnostics (time per step of a publish,
 * and the Upload ceiling with livectl's 8 MiB read buffer). Writes the `## Publish` section of
 * BENCHMARKS.md. Plain ESM: Node 20 cannot run .ts.
 */
import {mkdir, rm, writeFile} from 'node:fs/promises'
import path from 'node:path'
import process from 'node:process'
import {parseArgs} from 'node:util'

import {
  assertMemoryForBigUpload, BIG_BYTES, BIG_FILE, bigPartial, ensureBigFile, ensurePackage, importDist, PACKAGE_DIR, REPO_ROOT, repoPath, WORK_DIR,
} from './publish-inputs.mjs'
import {BUCKET, backgroundBusy, countObjects, FAKE_AWS_ENVIRONMENT, measureAgainstMoto, MOTO_COMMAND, objectSize, stopEveryMoto, withMoto} from './publish-moto.mjs'
import {renderPublishReport} from './publish-report.mjs'
import {capture, environmentWithout, formatCommand, loadAverage, machineFacts, writeSection} from './support.mjs'

/** The same as livectl's S3 backend (src/lib/storage/s3.ts): checked against dist at start. */
const PART_BYTES = 8 * 1024 * 1024
const PART_QUEUE = 4
const VIDEO_ID = 'bench'

const say = (line) => process.stdout.write(`${line}\n`)

function parseOptions() {
  const {values} = parseArgs({
    options: {
      runs: {type: 'string', default: '3'},
      concurrency: {type: 'string', default: '8'},
      'skip-1gib': {type: 'boolean', default: false},
      keep: {type: 'boolean', default: false},
      help: {type: 'boolean', short: 'h', default: false},
    },
  })
  if (values.help) {
    process.stdout.write('Usage: node bench/publish.mjs [--runs N (default 3)] [--concurrency N (default 8)] [--skip-1gib] [--keep (the 1 GiB file)]\n')
    process.exit(0)
  }

  const integer = (name, min, max) => {
    const value = Number(values[name])
    if (!Number.isInteger(value) || value < min || value > max) throw new Error(`--${name} must be an integer from ${min} to ${max} (got ${values[name]})`)
    return value
  }

  return {runs: integer('runs', 1, 100), concurrency: integer('concurrency', 1, 64), skipBig: values['skip-1gib'], keep: values.keep}
}

/** The commands of every contender; ENDPOINT, DATA_DIR and KEY_PREFIX are filled in per run. */
function contenderCommands(options) {
  const concurrency = String(options.concurrency)
  return {
    livectl: (endpoint, dataDir) => ({file: process.execPath, args: [
      'bin/run.js', 'publish', PACKAGE_DIR, '--to', `s3://${BUCKET}/livectl`, '--s3-endpoint', endpoint, '--video-id', VIDEO_ID,
      '--data-dir', dataDir, '--concurrency', concurrency, '--json',
    ]}),
    ceiling: (endpoint) => ({file: process.execPath, args: [
      'bench/publish-ceiling.mjs', 'files', '--dir', PACKAGE_DIR, '--to', `s3://${BUCKET}/ceiling/${VIDEO_ID}`, '--endpoint', endpoint, '--concurrency', concurrency,
    ]}),
    bigLivectl: (endpoint) => ({file: process.execPath, args: [
      'bench/publish-file.mjs', '--file', BIG_FILE, '--to', `s3://${BUCKET}/livectl`, '--key', 'big/random-1gib.bin', '--s3-endpoint', endpoint,
    ]}),
    bigCeiling: (endpoint, highWaterMark) => ({file: process.execPath, args: [
      'bench/publish-ceiling.mjs', 'multipart', '--file', BIG_FILE, '--to', `s3://${BUCKET}/ceiling/big/random-1gib.bin`, '--endpoint', endpoint,
      '--part-bytes', String(PART_BYTES), '--queue', String(PART_QUEUE), ...(highWaterMark ? ['--high-water-mark', String(highWaterMark)] : []),
    ]}),
  }
}

function logRun(round, id, m, extra = '') {
  say(
    `round ${round}  ${id.padEnd(16)} ${m.wallSeconds.toFixed(2).padStart(7)} s  peak RSS ${m.peakRssMb.toFixed(0).padStart(4)} MB  ` +
      `CPU (% of a core): moto ${((100 * m.motoCpuSeconds) / m.wallSeconds).toFixed(0)}, contender ${((100 * (m.contenderCpuSeconds ?? Number.NaN)) / m.wallSeconds).toFixed(0)}, ` +
      `others ${((100 * (m.otherCpuSeconds ?? Number.NaN)) / m.wallSeconds).toFixed(0)}${extra}`,
  )
}

/** Checks what a contender left in the bucket, so that a fast run that uploaded nothing is caught. */
function expect(condition, message) {
  if (!condition) throw new Error(`sanity check failed: ${message}`)
}

async function packageRound(round, context) {
  const {run, commands, pkg, measurements} = context
  const dataDir = path.join(WORK_DIR, `data-round${round}`)
  await rm(repoPath(dataDir), {recursive: true, force: true})
  const record = (id, m, moto) => measurements.push({round, id, ...m, motoPeakRssMb: moto})

  const first = await withMoto(run, async (moto) => {
    const publish = await measureAgainstMoto(commands.livectl(moto.endpoint, dataDir), moto, run)
    const stored = await countObjects(moto.client, `livectl/${VIDEO_ID}/`)
    expect(publish.output.uploaded === pkg.files && stored.objects === pkg.files && stored.bytes === pkg.bytes, `livectl publish stored ${stored.objects} objects, ${stored.bytes} bytes; expected ${pkg.files}, ${pkg.bytes}`)
    logRun(round, 'livectl publish', publish, `, ${publish.output.uploaded} uploaded`)
    const rerun = await measureAgainstMoto(commands.livectl(moto.endpoint, dataDir), moto, run)
    expect(rerun.output.uploaded === 0 && rerun.output.skipped === pkg.files, `the re-run uploaded ${rerun.output.uploaded} files`)
    logRun(round, 'livectl re-run', rerun, `, ${rerun.output.skipped} skipped`)
    return {publish, rerun}
  })
  record('package-livectl', first.result.publish, first.motoPeakRssMb)
  record('package-rerun', first.result.rerun, first.motoPeakRssMb)
  await rm(repoPath(dataDir), {recursive: true, force: true})

  const ceiling = await withMoto(run, async (moto) => {
    const m = await measureAgainstMoto(commands.ceiling(moto.endpoint), moto, run)
    const stored = await countObjects(moto.client, `ceiling/${VIDEO_ID}/`)
    expect(stored.objects === pkg.files && stored.bytes === pkg.bytes, `the ceiling stored ${stored.objects} objects, ${stored.bytes} bytes; expected ${pkg.files}, ${pkg.bytes}`)
    logRun(round, 'PutObject loop', m, `, ${m.output.files} files`)
    return m
  })
  record('package-ceiling', ceiling.result, ceiling.motoPeakRssMb)
}

async function bigRound(round, {run, commands, measurements}) {
  const record = (id, m, moto) => measurements.push({round, id, ...m, motoPeakRssMb: moto})
  await assertMemoryForBigUpload()
  const first = await withMoto(run, async (moto) => {
    const upload = await measureAgainstMoto(commands.bigLivectl(moto.endpoint), moto, run)
    expect(upload.output.action === 'upload' && (await objectSize(moto.client, 'livectl/big/random-1gib.bin')) === BIG_BYTES, 'livectl did not store the 1 GiB object')
    logRun(round, 'livectl 1 GiB', upload, `, hash ${upload.output.hashSeconds.toFixed(2)} s, put ${upload.output.putSeconds.toFixed(2)} s`)
    const rerun = await measureAgainstMoto(commands.bigLivectl(moto.endpoint), moto, run)
    expect(rerun.output.action === 'skip', 'the 1 GiB re-run uploaded again')
    logRun(round, 'livectl 1 GiB re', rerun, `, hash ${rerun.output.hashSeconds.toFixed(2)} s`)
    return {upload, rerun}
  })
  record('big-livectl', first.result.upload, first.motoPeakRssMb)
  record('big-rerun', first.result.rerun, first.motoPeakRssMb)
  await assertMemoryForBigUpload()
  const ceiling = await withMoto(run, async (moto) => {
    const m = await measureAgainstMoto(commands.bigCeiling(moto.endpoint), moto, run)
    expect((await objectSize(moto.client, 'ceiling/big/random-1gib.bin')) === BIG_BYTES, 'the ceiling did not store the 1 GiB object')
    logRun(round, 'Upload 1 GiB', m)
    return m
  })
  record('big-ceiling', ceiling.result, ceiling.motoPeakRssMb)
}

/** One pass: where a publish's time goes, step by step, and what the 8 MiB read buffer costs in memory. */
async function diagnostics({options, run, commands}) {
  const result = {}
  const dataDir = path.join(WORK_DIR, 'data-steps')
  await rm(repoPath(dataDir), {recursive: true, force: true})
  const stepsArgs = (endpoint) => [
    'bench/publish-steps.mjs', '--package', PACKAGE_DIR, '--to', `s3://${BUCKET}/livectl`, '--video-id', VIDEO_ID, '--s3-endpoint', endpoint,
    '--concurrency', String(options.concurrency), '--data-dir', dataDir,
  ]
  result.stepsCommand = formatCommand('node', stepsArgs('ENDPOINT'))
  await withMoto(run, async (moto) => {
    await capture(commands.livectl(moto.endpoint, dataDir).file, commands.livectl(moto.endpoint, dataDir).args, run)
    await rm(repoPath(dataDir), {recursive: true, force: true})
    const out = (await capture(process.execPath, stepsArgs(moto.endpoint), run)).trim()
    result.steps = JSON.parse(out.slice(out.lastIndexOf('\n{') + 1))
  })
  await rm(repoPath(dataDir), {recursive: true, force: true})
  say(`steps: ${result.steps.steps.map((step) => `${step.id} ${step.seconds.toFixed(2)} s`).join(', ')}`)

  if (!options.skipBig) {
    await assertMemoryForBigUpload()
    const buffered = await withMoto(run, (moto) => measureAgainstMoto(commands.bigCeiling(moto.endpoint, PART_BYTES), moto, run))
    result.bufferedCeiling = {...buffered.result, motoPeakRssMb: buffered.motoPeakRssMb, command: formatCommand('node', commands.bigCeiling('ENDPOINT', PART_BYTES).args)}
    logRun('-', 'Upload 8MiB buf', buffered.result)
  }

  return result
}

async function main() {
  const options = parseOptions()
  const s3 = await importDist('lib/storage/s3.js')
  if (s3.MULTIPART_PART_BYTES !== PART_BYTES) throw new Error(`livectl's multipart part size is now ${s3.MULTIPART_PART_BYTES}: update PART_BYTES in bench/publish.mjs`)
  const env = {...environmentWithout('LIVECTL_', ['LIVECTL_FFMPEG', 'LIVECTL_FFPROBE']), ...FAKE_AWS_ENVIRONMENT}
  for (const name of ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_S3']) delete env[name]
  const run = {cwd: REPO_ROOT, env}
  await mkdir(repoPath(WORK_DIR), {recursive: true})

  const pkg = await ensurePackage(run)
  const startedAt = new Date()
  const loadAtStart = loadAverage()
  const busyAtStart = await backgroundBusy()
  say(`Machine busy before the rounds (3 s, nothing of ours running): ${(100 * busyAtStart).toFixed(0)}% of all cores`)
  const commands = contenderCommands(options)
  const context = {options, run, commands, pkg, measurements: []}
  const removeBigFile = async () => {
    await rm(repoPath(bigPartial()), {force: true})
    if (!options.skipBig && !options.keep) await rm(repoPath(BIG_FILE), {force: true})
  }
  const onSignal = (signal) => {
    process.stderr.write(`\nbench/publish: ${signal}: stopping moto${options.keep || options.skipBig ? '' : ' and removing the 1 GiB file'}\n`)
    void Promise.allSettled([stopEveryMoto(), removeBigFile()]).finally(() => process.exit(130))
  }

  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  let diagnosis
  try {
    if (!options.skipBig) await ensureBigFile()
    const moto = (await capture('python3', ['-c', 'import moto; print(moto.__version__)'], run)).trim()
    context.motoVersion = moto
    for (let round = 1; round <= options.runs; round += 1) {
      await packageRound(round, context)
      if (!options.skipBig) await bigRound(round, context)
    }

    diagnosis = await diagnostics(context)
    context.busyAtEnd = await backgroundBusy()
  } finally {
    await removeBigFile()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }

  const display = (command, endpoint = 'ENDPOINT') => formatCommand('node', command.args).replace(endpoint, 'ENDPOINT')
  const report = {
    options,
    startedAt,
    loadAtStart,
    loadAtEnd: loadAverage(),
    busyAtStart,
    busyAtEnd: context.busyAtEnd,
    machine: machineFacts(),
    motoVersion: context.motoVersion,
    motoCommand: MOTO_COMMAND.join(' '),
    pkg,
    bigBytes: BIG_BYTES,
    bigFile: BIG_FILE,
    partBytes: PART_BYTES,
    partQueue: PART_QUEUE,
    measurements: context.measurements,
    diagnosis,
    commands: {
      livectl: display(commands.livectl('ENDPOINT', path.join(WORK_DIR, 'data-roundN'))),
      ceiling: display(commands.ceiling('ENDPOINT')),
      bigLivectl: display(commands.bigLivectl('ENDPOINT')),
      bigCeiling: display(commands.bigCeiling('ENDPOINT')),
    },
  }
  // Everything the section is made of, to look at again without running again.
  await writeFile(repoPath(path.join(WORK_DIR, 'last-run.json')), `${JSON.stringify(report, null, 2)}\n`)
  const section = renderPublishReport(report)
  say(`\n${section}`)
  await writeSection(repoPath('BENCHMARKS.md'), section)
  say('Wrote the "## Publish" section of BENCHMARKS.md')
}

try {
  await main()
} catch (error) {
  process.stderr.write(`bench/publish: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
}
