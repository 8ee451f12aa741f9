/**
 * The `## Publish` section of BENCHMARKS.md, from the measurements of bench/publish/main.ts.
 */
import {fence, fixed, measuredAt} from '../support/report.js'
import {median, summarize} from '../support/stats.js'
import {renderDiagnosis} from './diagnosis.js'
import type {BenchPackage} from './inputs.js'
import {type Measurement, PACKAGE_ROWS, type PublishReport, RERUN_FRACTION_MAX, type RowStats} from './results.js'

const THROUGHPUT_RATIO_MIN = 0.8
const BIG_PEAK_RSS_MAX_MB = 200
/** The real benchmark: anything less is a smoke run whose numbers mean nothing. */
const FULL_RUNS = 3



const BIG_ROWS = [
  {id: 'big-livectl', name: 'livectl publish path (`bench/publish/file.mjs`)'},
  {id: 'big-ceiling', name: 'ceiling: plain lib-storage `Upload`'},
  {id: 'big-rerun', name: 'livectl publish path, no-change re-run', rerun: true},
]

const s0 = fixed(0, 'n/a')
const s1 = fixed(1, 'n/a')
const s2 = fixed(2, 'n/a')
const s3 = fixed(3, 'n/a')
const verdict = (ok: boolean, partial: boolean) => (partial ? `${ok ? 'met' : 'not met'} (smoke run: not a result)` : ok ? '**met**' : '**not met**')
const percentList = (shares: number[]) => shares.map((share) => `${s0(100 * share)}%`).join(', ')

function statsOf(measurements: readonly Measurement[], id: string): RowStats | undefined {
  const mine = measurements.filter((m) => m.id === id)
  if (mine.length === 0) return undefined
  return {
    runs: mine.length,
    wall: summarize(mine.map((m) => m.wallSeconds)),
    peakRss: summarize(mine.map((m) => m.peakRssMb)),
    motoCpuShare: median(mine.map((m) => m.motoCpuSeconds / m.wallSeconds)),
    machineBusy: median(mine.map((m) => m.machineBusy)),
    contenderCpuShare: median(mine.map((m) => (m.contenderCpuSeconds ?? Number.NaN) / m.wallSeconds)),
    otherCpuShare: median(mine.map((m) => (m.otherCpuSeconds ?? Number.NaN) / m.wallSeconds)),
    motoPeakRss: median(mine.map((m) => m.motoPeakRssMb)),
    outputs: mine.map((m) => m.output),
  }
}

/** Every table row, packages first (in the order they ran), then the 1 GiB file. */
interface Row {
  id: string
  label: string
  files: number
  bytes: number
  rerun: boolean
}

function rowsOf(report: PublishReport): Row[] {
  return [
    ...report.packages.flatMap((pkg) =>
      PACKAGE_ROWS.map((row) => ({id: `${pkg.id}-${row.suffix}`, label: `${pkg.name}: ${row.name}`, files: pkg.files, bytes: pkg.bytes, rerun: Boolean(row.rerun)})),
    ),
    ...BIG_ROWS.map((row) => ({id: row.id, label: `1 GiB: ${row.name}`, files: 1, bytes: report.bigBytes, rerun: Boolean(row.rerun)})),
  ]
}

function describePackage(pkg: BenchPackage): string {
  const video = pkg.tracks.filter((track) => track.type === 'video')
  const audio = pkg.tracks.filter((track) => track.type === 'audio')
  const role = pkg.target
    ? `**${pkg.name}** (the targets are judged on it)`
    : `${pkg.name} (for reference, no target: with little data its runs show the fixed cost of a run, start-up, listing and catalog)`
  const encoding = pkg.ladder ? `transcoded to the ${pkg.ladder} rung only (\`--ladder ${pkg.ladder}\`)` : 'transcoded with livectl\'s default ladder (no `--ladder`)'
  const segmentFlag = pkg.segmentSeconds ? `\`--segment-duration ${pkg.segmentSeconds}\`` : 'livectl\'s default'
  const perTrack = pkg.tracks
    .map((track) => `${track.name}${track.width ? ` ${track.width}x${track.height}` : ''}: ${track.segments} segments, ${s1(track.bytes / 1e6)} MB, ${s2((track.bytes * 8) / pkg.mediaDurationSeconds / 1e6)} Mbit/s`)
    .join('; ')
  const masters = [pkg.hlsMaster ? 'the HLS master' : undefined, pkg.dashManifest ? 'the MPD' : undefined].filter(Boolean)
  return (
    `- ${role}: \`${pkg.dir}\`, a real livectl package of ${pkg.files} files (${s1(pkg.bytes / 1e6)} MB): ${s0(pkg.mediaDurationSeconds)} s of ${pkg.width}x${pkg.height} video ` +
    `(testsrc2, ${pkg.frameRate} fps) with stereo AAC, ${encoding}, x264 ${pkg.preset} (the rungs' bitrates set the sizes; the preset only makes generating it quick), ` +
    `${pkg.segmentDurationSeconds} s segments (${segmentFlag}), packaged as CMAF for HLS and DASH: ${video.length} video and ${audio.length} audio track(s), ` +
    `each an init segment and its media segments (${pkg.segmentFiles} segment files in all; ${perTrack}), ${pkg.playlists} media playlists, ` +
    `${masters.length > 0 ? `${masters.join(', ')} ` : ''}and livectl-package.json. Generated once and kept (commands below).` +
    (pkg.generation ? ` Generation took ${Object.entries(pkg.generation).map(([step, seconds]) => `${step} ${s1(seconds)} s`).join(', ')}.` : '')
  )
}

export function renderPublishReport(report: PublishReport): string {
  const {options, machine, packages, measurements} = report
  const rows = rowsOf(report)
  const stats: Record<string, RowStats | undefined> = Object.fromEntries(rows.map(({id}) => [id, statsOf(measurements, id)]))
  const partial = options.runs < FULL_RUNS || options.skipBig || !options.allPackages
  const invocation =
    `npx tsx bench/publish/main.ts --runs ${options.runs} --concurrency ${options.concurrency} --packages ${options.packages.join(',')}` +
    `${options.skipBig ? ' --skip-1gib' : ''}${options.keep ? ' --keep' : ''}`
  const ratio = (a: string, b: string) => {
    const [first, second] = [stats[a], stats[b]]
    return first && second ? first.wall.median / second.wall.median : undefined
  }
  const throughputOf = (pkg: BenchPackage) => ratio(`${pkg.id}-ceiling`, `${pkg.id}-livectl`)
  const rerunOf = (pkg: BenchPackage) => ratio(`${pkg.id}-rerun`, `${pkg.id}-livectl`)
  const bigThroughput = ratio('big-ceiling', 'big-livectl')
  const bigRerun = ratio('big-rerun', 'big-livectl')
  const bigPeak = stats['big-livectl']?.peakRss.max
  const present = (rowList: Row[]) => rowList.flatMap((row) => stats[row.id] ?? [])
  const uploads = present(rows.filter((row) => !row.rerun))
  const motoShares = uploads.map((stat) => stat.motoCpuShare)
  const contenderShares = uploads.map((stat) => stat.contenderCpuShare)
  const otherShares = present(rows).map((stat) => stat.otherCpuShare)
  const targetPackages = packages.filter((pkg) => pkg.target)
  const referencePackages = packages.filter((pkg) => !pkg.target)

  const lines = ['## Publish', '']
  if (partial) {
    const left = [options.runs < FULL_RUNS ? `${options.runs} run(s)` : undefined, options.skipBig ? '1 GiB file skipped' : undefined, options.allPackages ? undefined : `packages: ${options.packages.join(', ')} only`]
    lines.push(
      `> **Smoke run only** (${left.filter(Boolean).join(', ')}): these numbers only show that the benchmark works. ` +
        `Run \`npm run bench:publish\` (${FULL_RUNS} runs, every package and the 1 GiB file) for real ones.`,
      '',
    )
  }

  const packageNames = packages.map((pkg) => pkg.name).join(', ')
  lines.push(
    `Measured ${measuredAt(report.startedAt)} with \`${invocation}\` (\`npm run bench:publish\` builds first and runs the defaults).`,
    '',
    `- Machine: ${machine.cores} cores (nproc), ${machine.cpuModel}, ${machine.memoryGib.toFixed(1)} GiB RAM, ${machine.kernel}; Node ${machine.node}.`,
    `- Load average (1, 5, 15 min) at start: ${report.loadAtStart}; at end: ${report.loadAtEnd}. ` +
      `CPU busy over 3 s with nothing of the benchmark running: ${s0(100 * report.busyAtStart)}% of all cores before the rounds, ${s0(100 * (report.busyAtEnd ?? Number.NaN))}% after.`,
    `- S3 server: moto ${report.motoVersion} (\`${report.motoCommand}\`) on the same machine, a fresh one for every contender run, so that no run sees another's objects; ` +
      'the no-change re-runs run against the objects of the publish just before them, with the same data directory (and so the digest cache that publish wrote).',
    `- **moto runs on the same ${machine.cores} cores as the uploader.** It is one Python process (one core at most: GIL), so at 100% of a core it is the bottleneck for livectl and the ceiling alike. ` +
      `During the uploads moto used ${percentList(motoShares)} of a core (rows below without the re-runs, in table order) and the uploader itself ${percentList(contenderShares)} ` +
      '(the AWS SDK\'s work per request, and for livectl the digests). ' +
      `Everything else (the benchmark's own /proc sampling every 50 ms, and whatever else ran on this shared development machine) took ${percentList(otherShares)} of a core during the rows (all rows, in table order). ` +
      'The ceiling is what this server on this machine can take, not what S3 could: a ratio to it measures livectl\'s overhead against the server, and the absolute MB/s say nothing about real S3.',
    ...packages.map((pkg) => describePackage(pkg)),
    `- 1 GiB file: \`${report.bigFile}\`, ${report.bigBytes} bytes from /dev/urandom, written once per benchmark run and deleted at the end (unless \`--keep\`); it is in the page cache for every contender. ` +
      'A package cannot hold one 1 GiB file cheaply, so `bench/publish/file.mjs` publishes it with `createFilePublisher` from livectl\'s compiled code, what `publishPackage` runs for every file of a package: ' +
      'one listing of the prefix, then (the object not being there) SHA-256 of the file and `putFile` (multipart above 16 MiB: ' +
      `${report.partBytes / 1024 ** 2} MiB parts, ${report.partQueue} in flight), with the ETag of S3's answer kept in a digest cache in the run's data directory; ` +
      'its re-run lists the prefix and finds the file with the same size and ETag, the ETag coming from the digest cache since the file\'s stat is unchanged. ' +
      'The ceiling uploads it with `Upload` from @aws-sdk/lib-storage, the same part size and queue, a plain `createReadStream` as Body.',
    `- Ceiling for each package: \`bench/publish/ceiling.mjs files\`, a loop of PutObject over every file of the package directory, ${options.concurrency} at once (livectl's \`--concurrency\`), ` +
      'each Body a read stream with ContentLength: no package check, no hashing, no listing, no catalog. The bucket is listed after every first upload to check that all objects and bytes arrived.',
    `- ${options.runs} round(s), each in this order: for each package (${packageNames}), livectl publish and its re-run, then the PutObject ceiling` +
      `${options.skipBig ? '' : '; then the 1 GiB file with livectl\'s path and its re-run, and the Upload ceiling'}. ` +
      'Wall time runs from spawn to exit, so it includes Node start-up for every contender, and for `livectl publish` oclif start-up, the package check, the listing and the catalog write. ' +
      'Throughput is bytes (MB = 10^6 bytes) or files over that wall time. Peak RSS is the highest total VmRSS of the contender\'s process tree, sampled every 50 ms from /proc; moto is not included (its own peak VmHWM is shown apart). ' +
      'Each contender runs under GNU time (`/usr/bin/time -f`, about 2 MB of the peak) for its own CPU seconds; moto\'s come from /proc, and "other processes" is the machine\'s busy time (/proc/stat) minus both.',
    '',
    '| contender | files | MB | median wall (s) | min | max | MB/s | files/s | median peak RSS (MB) | max peak RSS (MB) | CPU (% of a core): moto | the contender | other processes | moto peak RSS (MB) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  )
  for (const row of rows) {
    const stat = stats[row.id]
    if (!stat) continue
    const {files, bytes} = row
    lines.push(
      `| ${row.label} | ${files}${row.rerun ? ' (compared)' : ''} | ${s1(bytes / 1e6)} | ${s2(stat.wall.median)} | ${s2(stat.wall.min)} | ${s2(stat.wall.max)} | ` +
        `${row.rerun ? '' : s1(bytes / 1e6 / stat.wall.median)} | ${row.rerun || files === 1 ? '' : s0(files / stat.wall.median)} | ${s0(stat.peakRss.median)} | ${s0(stat.peakRss.max)} | ` +
        `${s0(100 * stat.motoCpuShare)} | ${s0(100 * stat.contenderCpuShare)} | ${s0(100 * stat.otherCpuShare)} | ${s0(stat.motoPeakRss)} |`,
    )
  }

  const judged = (value: number | undefined, ok: boolean) => (value === undefined ? 'n/a' : verdict(ok, partial))
  lines.push('', '| target | value | target | |', '|---|---:|---:|---|')
  for (const pkg of targetPackages) {
    const throughput = throughputOf(pkg)
    const rerun = rerunOf(pkg)
    lines.push(
      `| ${pkg.name}: livectl throughput / ceiling throughput (ceiling median wall / livectl median wall) | ${s3(throughput)} | >= ${THROUGHPUT_RATIO_MIN.toFixed(2)} | ${judged(throughput, throughput !== undefined && throughput >= THROUGHPUT_RATIO_MIN)} |`,
      `| ${pkg.name}: no-change re-run / first publish (median wall) | ${s3(rerun)} | < ${RERUN_FRACTION_MAX.toFixed(2)} | ${judged(rerun, rerun !== undefined && rerun < RERUN_FRACTION_MAX)} |`,
    )
  }

  if (targetPackages.length === 0) lines.push('| the package the targets are judged on: left out by `--packages` | n/a | | |')
  lines.push(
    `| 1 GiB file: livectl throughput / ceiling throughput | ${s3(bigThroughput)} | >= ${THROUGHPUT_RATIO_MIN.toFixed(2)} | ${judged(bigThroughput, bigThroughput !== undefined && bigThroughput >= THROUGHPUT_RATIO_MIN)} |`,
    `| 1 GiB file: no-change re-run / first upload (median wall) | ${s3(bigRerun)} | < ${RERUN_FRACTION_MAX.toFixed(2)} | ${judged(bigRerun, bigRerun !== undefined && bigRerun < RERUN_FRACTION_MAX)} |`,
    `| 1 GiB file: livectl's peak RSS (max over runs, MB) | ${s0(bigPeak)} | < ${BIG_PEAK_RSS_MAX_MB} | ${judged(bigPeak, bigPeak !== undefined && bigPeak < BIG_PEAK_RSS_MAX_MB)} |`,
  )
  for (const pkg of referencePackages) {
    lines.push(
      `| ${pkg.name}: livectl throughput / ceiling throughput (for reference, no target) | ${s3(throughputOf(pkg))} | | |`,
      `| ${pkg.name}: no-change re-run / first publish (for reference, no target) | ${s3(rerunOf(pkg))} | | |`,
    )
  }

  lines.push('')
  lines.push(...renderDiagnosis(report, stats))
  lines.push(
    '',
    'Every run, in the order it ran:',
    '',
    '| round | contender | wall (s) | peak RSS (MB) | sum of VmHWM (MB) | samples | CPU (s): moto | contender | others | moto peak RSS (MB) | contender\'s own report |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...measurements.map(
      (m) =>
        `| ${m.round} | ${m.id} | ${s2(m.wallSeconds)} | ${s0(m.peakRssMb)} | ${s0(m.hwmSumMb)} | ${m.samples} | ${s2(m.motoCpuSeconds)} | ${s2(m.contenderCpuSeconds)} | ${s2(m.otherCpuSeconds)} | ${s0(m.motoPeakRssMb)} | ${ownReport(m.output)} |`,
    ),
    '',
    '### Commands',
    '',
    'The packages, each generated once (paths relative to the repository; the clip is the `buildTestClipArgs` of `src/lib/media/test-clip.ts`):',
    '',
  )
  for (const pkg of packages) lines.push(`${pkg.name}:`, '', ...fence(pkg.commands), '')
  lines.push(
    'Every contender run starts its own moto on a free port (ENDPOINT below), creates the bucket, and runs with `AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1`:',
    '',
    ...fence([...report.commands.packages.flatMap((commands) => [commands.livectl, commands.ceiling]), report.commands.bigLivectl, report.commands.bigCeiling]),
    '',
  )
  const stepsCommand = report.diagnosis?.stepsCommand
  if (report.diagnosis && stepsCommand) {
    const stepsPackageId = report.diagnosis.stepsPackage
    const stepsPackage = packages.find((pkg) => pkg.id === stepsPackageId)
    lines.push(
      `The steps, after one \`livectl publish\` of the ${stepsPackage?.name ?? 'package'} (its command above, with \`--data-dir .bench-work/publish/data-steps\`) on a fresh moto:`,
      '',
      ...fence([stepsCommand]),
      '',
    )
  }

  return lines.join('\n')
}

function ownReport(output: Measurement['output'] | undefined): string {
  if (!output) return ''
  if ('uploaded' in output) return `uploaded ${output.uploaded}, skipped ${output.skipped}, ${output.seconds} s`
  if ('action' in output) return `${output.action}: listing ${s2(output.listSeconds)} s, then ${s2(output.restSeconds)} s`
  return `${output.files} files, ${s2(output.seconds)} s`
}

