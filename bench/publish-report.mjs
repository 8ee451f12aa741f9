/**
 * The `## Publish` section of BENCHMARKS.md, from the measurements of bench/publish.mjs.
 */
import {median, summarize} from './support.mjs'

const THROUGHPUT_RATIO_MIN = 0.8
const RERUN_FRACTION_MAX = 0.1
const BIG_PEAK_RSS_MAX_MB = 200
/** The real benchmark: anything less is a smoke run whose numbers mean nothing. */
const FULL_RUNS = 3

/** The rows of each package; measurement ids are `${package id}-${suffix}`. */
const PACKAGE_ROWS = [
  {suffix: 'livectl', name: '`livectl publish`, first publish'},
  {suffix: 'ceiling', name: 'ceiling: plain PutObject loop'},
  {suffix: 'rerun', name: '`livectl publish`, no-change re-run', rerun: true},
]

const BIG_ROWS = [
  {id: 'big-livectl', name: 'livectl publish path (`bench/publish-file.mjs`)'},
  {id: 'big-ceiling', name: 'ceiling: plain lib-storage `Upload`'},
  {id: 'big-rerun', name: 'livectl publish path, no-change re-run', rerun: true},
]

const STEP_NAMES = {
  'read-manifest': 'read livectl-package.json',
  verify: 'check the package',
  'open-storage': 'open the S3 storage',
  stat: 'stat every file',
  'cache-lookup': 'digest cache: open and look up every file',
  list: 'ListObjectsV2 of the prefix',
  sha256: 'SHA-256 of every file (what a first publish reads)',
  digests: 'SHA-256 and ETag of every file (`digestsOfFile`: what a re-run without the cache reads)',
  put: 'PUT every file (`putFile`)',
  'cache-save': 'digest cache: write every entry',
  catalog: 'catalog write (SQLite)',
  head: 'HEAD every object (comparison only: publish no longer does this)',
}

const fixed = (digits) => (value) => (value === undefined || Number.isNaN(value) ? 'n/a' : value.toFixed(digits))
const s2 = fixed(2)
const s3 = fixed(3)
const s0 = fixed(0)
const s1 = fixed(1)
const verdict = (ok, partial) => (partial ? `${ok ? 'met' : 'not met'} (smoke run: not a result)` : ok ? '**met**' : '**not met**')
const fence = (lines) => ['```sh', ...lines, '```']
const percentList = (shares) => shares.map((share) => `${s0(100 * share)}%`).join(', ')
/** Sum of seconds; undefined (shown as n/a) when any part is missing. */
const sum = (values) => (values.some((value) => value === undefined || Number.isNaN(value)) ? undefined : values.reduce((total, value) => total + value, 0))

function statsOf(measurements, id) {
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
function rowsOf(report) {
  return [
    ...report.packages.flatMap((pkg) =>
      PACKAGE_ROWS.map((row) => ({id: `${pkg.id}-${row.suffix}`, label: `${pkg.name}: ${row.name}`, files: pkg.files, bytes: pkg.bytes, rerun: Boolean(row.rerun)})),
    ),
    ...BIG_ROWS.map((row) => ({id: row.id, label: `1 GiB: ${row.name}`, files: 1, bytes: report.bigBytes, rerun: Boolean(row.rerun)})),
  ]
}

/**
 * Wall time split into the contender's own clock (the `seconds` it reports: livectl from the
 * start of publishPackage to its end; the ceiling from its first request to its last answer) and
 * the rest (Node start-up, imports, oclif for livectl, exit). Medians over the runs of `id`.
 */
function splitOf(measurements, id) {
  const mine = measurements.filter((m) => m.id === id && typeof m.output?.seconds === 'number')
  if (mine.length === 0) return undefined
  return {
    wall: median(mine.map((m) => m.wallSeconds)),
    own: median(mine.map((m) => m.output.seconds)),
    startup: median(mine.map((m) => m.wallSeconds - m.output.seconds)),
  }
}

function describePackage(pkg) {
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

export function renderPublishReport(report) {
  const {options, machine, packages, measurements} = report
  const rows = rowsOf(report)
  const stats = Object.fromEntries(rows.map(({id}) => [id, statsOf(measurements, id)]))
  const partial = options.runs < FULL_RUNS || options.skipBig || !options.allPackages
  const invocation =
    `node bench/publish.mjs --runs ${options.runs} --concurrency ${options.concurrency} --packages ${options.packages.join(',')}` +
    `${options.skipBig ? ' --skip-1gib' : ''}${options.keep ? ' --keep' : ''}`
  const ratio = (a, b) => (stats[a] && stats[b] ? stats[a].wall.median / stats[b].wall.median : undefined)
  const throughputOf = (pkg) => ratio(`${pkg.id}-ceiling`, `${pkg.id}-livectl`)
  const rerunOf = (pkg) => ratio(`${pkg.id}-rerun`, `${pkg.id}-livectl`)
  const bigThroughput = ratio('big-ceiling', 'big-livectl')
  const bigRerun = ratio('big-rerun', 'big-livectl')
  const bigPeak = stats['big-livectl']?.peakRss.max
  const uploads = rows.filter((row) => !row.rerun && stats[row.id])
  const motoShares = uploads.map((row) => stats[row.id].motoCpuShare)
  const contenderShares = uploads.map((row) => stats[row.id].contenderCpuShare)
  const otherShares = rows.filter((row) => stats[row.id]).map((row) => stats[row.id].otherCpuShare)
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
    `Measured ${report.startedAt.toISOString().replace(/\.\d+Z$/, 'Z')} with \`${invocation}\` (\`npm run bench:publish\` builds first and runs the defaults).`,
    '',
    `- Machine: ${machine.cores} cores (nproc), ${machine.cpuModel}, ${machine.memoryGib.toFixed(1)} GiB RAM, ${machine.kernel}; Node ${machine.node}.`,
    `- Load average (1, 5, 15 min) at start: ${report.loadAtStart}; at end: ${report.loadAtEnd}. ` +
      `CPU busy over 3 s with nothing of the benchmark running: ${s0(100 * report.busyAtStart)}% of all cores before the rounds, ${s0(100 * report.busyAtEnd)}% after.`,
    `- S3 server: moto ${report.motoVersion} (\`${report.motoCommand}\`) on the same machine, a fresh one for every contender run, so that no run sees another's objects; ` +
      'the no-change re-runs run against the objects of the publish just before them, with the same data directory (and so the digest cache that publish wrote).',
    `- **moto runs on the same ${machine.cores} cores as the uploader.** It is one Python process (one core at most: GIL), so at 100% of a core it is the bottleneck for livectl and the ceiling alike. ` +
      `During the uploads moto used ${percentList(motoShares)} of a core (rows below without the re-runs, in table order) and the uploader itself ${percentList(contenderShares)} ` +
      '(the AWS SDK\'s work per request, and for livectl the digests). ' +
      `Everything else (the benchmark's own /proc sampling every 50 ms, and whatever else ran on this shared development machine) took ${percentList(otherShares)} of a core during the rows (all rows, in table order). ` +
      'The ceiling is what this server on this machine can take, not what S3 could: a ratio to it measures livectl\'s overhead against the server, and the absolute MB/s say nothing about real S3.',
    ...packages.map((pkg) => describePackage(pkg)),
    `- 1 GiB file: \`${report.bigFile}\`, ${report.bigBytes} bytes from /dev/urandom, written once per benchmark run and deleted at the end (unless \`--keep\`); it is in the page cache for every contender. ` +
      'A package cannot hold one 1 GiB file cheaply, so `bench/publish-file.mjs` publishes it with `createFilePublisher` from livectl\'s compiled code, what `publishPackage` runs for every file of a package: ' +
      'one listing of the prefix, then (the object not being there) SHA-256 of the file and `putFile` (multipart above 16 MiB: ' +
      `${report.partBytes / 1024 ** 2} MiB parts, ${report.partQueue} in flight), with the ETag of S3's answer kept in a digest cache in the run's data directory; ` +
      'its re-run lists the prefix and finds the file with the same size and ETag, the ETag coming from the digest cache since the file\'s stat is unchanged. ' +
      'The ceiling uploads it with `Upload` from @aws-sdk/lib-storage, the same part size and queue, a plain `createReadStream` as Body.',
    `- Ceiling for each package: \`bench/publish-ceiling.mjs files\`, a loop of PutObject over every file of the package directory, ${options.concurrency} at once (livectl's \`--concurrency\`), ` +
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

  const judged = (value, ok) => (value === undefined ? 'n/a' : verdict(ok, partial))
  lines.push('', '| target | value | target | |', '|---|---:|---:|---|')
  for (const pkg of targetPackages) {
    const throughput = throughputOf(pkg)
    const rerun = rerunOf(pkg)
    lines.push(
      `| ${pkg.name}: livectl throughput / ceiling throughput (ceiling median wall / livectl median wall) | ${s3(throughput)} | >= ${THROUGHPUT_RATIO_MIN.toFixed(2)} | ${judged(throughput, throughput >= THROUGHPUT_RATIO_MIN)} |`,
      `| ${pkg.name}: no-change re-run / first publish (median wall) | ${s3(rerun)} | < ${RERUN_FRACTION_MAX.toFixed(2)} | ${judged(rerun, rerun < RERUN_FRACTION_MAX)} |`,
    )
  }

  if (targetPackages.length === 0) lines.push('| the package the targets are judged on: left out by `--packages` | n/a | | |')
  lines.push(
    `| 1 GiB file: livectl throughput / ceiling throughput | ${s3(bigThroughput)} | >= ${THROUGHPUT_RATIO_MIN.toFixed(2)} | ${judged(bigThroughput, bigThroughput >= THROUGHPUT_RATIO_MIN)} |`,
    `| 1 GiB file: no-change re-run / first upload (median wall) | ${s3(bigRerun)} | < ${RERUN_FRACTION_MAX.toFixed(2)} | ${judged(bigRerun, bigRerun < RERUN_FRACTION_MAX)} |`,
    `| 1 GiB file: livectl's peak RSS (max over runs, MB) | ${s0(bigPeak)} | < ${BIG_PEAK_RSS_MAX_MB} | ${judged(bigPeak, bigPeak < BIG_PEAK_RSS_MAX_MB)} |`,
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
    'The packages, each generated once (paths relative to the repository; the clip is the `buildTestClipArgs` of `dist/lib/media/test-clip.js`):',
    '',
  )
  for (const pkg of packages) lines.push(`${pkg.name}:`, '', ...fence(pkg.commands), '')
  lines.push(
    'Every contender run starts its own moto on a free port (ENDPOINT below), creates the bucket, and runs with `AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1`:',
    '',
    ...fence([...report.commands.packages.flatMap((commands) => [commands.livectl, commands.ceiling]), report.commands.bigLivectl, report.commands.bigCeiling]),
    '',
  )
  if (report.diagnosis?.stepsCommand) {
    const stepsPackage = packages.find((pkg) => pkg.id === report.diagnosis.stepsPackage)
    lines.push(
      `The steps, after one \`livectl publish\` of the ${stepsPackage?.name ?? 'package'} (its command above, with \`--data-dir .bench-work/publish/data-steps\`) on a fresh moto:`,
      '',
      ...fence([report.diagnosis.stepsCommand]),
      '',
    )
  }

  return lines.join('\n')
}

function ownReport(output) {
  if (!output) return ''
  if ('uploaded' in output) return `uploaded ${output.uploaded}, skipped ${output.skipped}, ${output.seconds} s`
  if ('action' in output) return `${output.action}: listing ${s2(output.listSeconds)} s, then ${s2(output.restSeconds)} s`
  return `${output.files} files, ${s2(output.seconds)} s`
}

function renderDiagnosis(report, stats) {
  const {diagnosis, options, measurements, packages} = report
  if (!diagnosis) {
    if (!report.diagnosisError) return []
    return ['### Where the time and memory go', '', `The diagnostics failed in this run, so this part is missing: ${report.diagnosisError.split('\n')[0]}`]
  }

  const lines = ['### Where the time and memory go', '']
  if (report.diagnosisError) lines.push(`The diagnostics failed partway in this run (${report.diagnosisError.split('\n')[0]}); what they measured before that is below.`, '')
  const pkg = packages.find((candidate) => candidate.id === diagnosis.stepsPackage)
  const steps = diagnosis.steps
  if (!pkg || !steps) return [...lines, `The steps pass left no result (package ${diagnosis.stepsPackage}).`]
  const seconds = (id) => steps.steps.find((step) => step.id === id)?.seconds
  const first = splitOf(measurements, `${pkg.id}-livectl`)
  const rerun = splitOf(measurements, `${pkg.id}-rerun`)
  const ceiling = splitOf(measurements, `${pkg.id}-ceiling`)
  lines.push(
    `One pass after the rounds (a single sample), on a fresh moto holding one \`livectl publish\` of the ${pkg.name} (${steps.files} files, ${s1(steps.bytes / 1e6)} MB) made with its own data directory, whose digest cache the lookup step reads: ` +
      `\`bench/publish-steps.mjs\` times each step of a publish with livectl's compiled code, one step after the other, ${options.concurrency} files at once where publish runs them at once ` +
      '(the PUTs go to a new prefix, the digest cache write and the catalog to a fresh data directory, as in a first publish). ' +
      `Loading publish.js (catalog, package checks; the AWS SDK is loaded later, by opening the storage) took ${s2(steps.importSeconds)} s in that process. ` +
      `Before publish starts its own clock and after it stops, \`node bin/run.js publish\` spends ${s2(first?.startup)} s on a first publish and ${s2(rerun?.startup)} s on a re-run ` +
      '(medians of wall time minus the `seconds` it reports: Node, oclif, the command\'s imports, printing the result, and exit).',
    '',
    '| step | seconds | what |',
    '|---|---:|---|',
    ...steps.steps.map((step) => `| ${STEP_NAMES[step.id] ?? step.id} | ${s2(step.seconds)} | ${step.detail} |`),
    '',
    'Wall time of every package run split into the command\'s own clock (`seconds` in its output: publish from the start of `publishPackage` to its end; the ceiling from its first request to its last answer) and the rest (start-up and exit), medians:',
    '',
    '| run | median wall (s) | own clock (s) | start-up and exit (s) |',
    '|---|---:|---:|---:|',
  )
  for (const each of packages) {
    for (const row of PACKAGE_ROWS) {
      const split = splitOf(measurements, `${each.id}-${row.suffix}`)
      if (split) lines.push(`| ${each.name}: ${row.name} | ${s2(split.wall)} | ${s2(split.own)} | ${s2(split.startup)} |`)
    }
  }

  lines.push('')
  if (first && rerun && ceiling) {
    const manifestAndCheck = sum([seconds('read-manifest'), seconds('verify')])
    const outsidePutsFirst = sum([manifestAndCheck, seconds('open-storage'), seconds('stat'), seconds('list'), seconds('cache-save'), seconds('catalog')])
    const firstSum = sum([first.startup, outsidePutsFirst, seconds('put')])
    const gap = first.wall - ceiling.wall
    lines.push(
      `- A first publish of the ${pkg.name} makes one listing and then one PUT per file, as the ceiling makes one PUT per file (no HEAD: the listing shows every file as new). ` +
        `Timed apart above: PUT of every file ${s2(seconds('put'))} s; SHA-256 of every file ${s2(seconds('sha256'))} s (it goes into the object's metadata; the ETag comes back in S3's answer to the PUT), which publish computes for each file just before its PUT, ` +
        `${options.concurrency} files at once, so reading one file overlaps the PUTs of others. The steps outside the PUTs (manifest and check ${s2(manifestAndCheck)} s, opening the storage ${s2(seconds('open-storage'))} s, ` +
        `stat ${s2(seconds('stat'))} s, the listing ${s2(seconds('list'))} s, the digest cache write ${s2(seconds('cache-save'))} s, the catalog ${s2(seconds('catalog'))} s) take ${s2(outsidePutsFirst)} s; ` +
        `with start-up and exit (${s2(first.startup)} s) and the PUTs that adds up to ${s2(firstSum)} s (${s2(sum([firstSum, seconds('sha256')]))} s with the hashing counted in full), ` +
        `against livectl's median ${s2(first.wall)} s. The ceiling's median is ${s2(ceiling.wall)} s, of which ${s2(ceiling.startup)} s is start-up and exit (Node, the AWS SDK import, exit), ` +
        `so livectl took ${s2(Math.abs(gap))} s ${gap >= 0 ? 'more' : 'less'} (${s0((100 * Math.abs(gap)) / ceiling.wall)}% of the ceiling's time); ` +
        `its start-up and exit are ${s2(first.startup - ceiling.startup)} s longer than the ceiling's, and its own clock is ${s2(first.own)} s against the ceiling's ${s2(ceiling.own)} s.`,
    )
    const rerunParts = [
      {name: 'start-up and exit', seconds: rerun.startup},
      {name: 'reading the manifest and checking the package', seconds: manifestAndCheck},
      {name: 'opening the storage (the AWS SDK import)', seconds: seconds('open-storage')},
      {name: 'stat of every file', seconds: seconds('stat')},
      {name: 'the digest cache lookup', seconds: seconds('cache-lookup')},
      {name: 'the listing', seconds: seconds('list')},
      {name: 'the catalog write', seconds: seconds('catalog')},
    ]
    const rerunSum = sum(rerunParts.map((part) => part.seconds))
    const largest = rerunParts.filter((part) => part.seconds !== undefined && !Number.isNaN(part.seconds)).sort((a, b) => b.seconds - a.seconds)[0]
    const hits = steps.cacheHits
    const read = hits === steps.files ? 'reads no file' : `reads the ${steps.files - hits} files the cache did not have (in the steps pass)`
    lines.push(
      `- A no-change re-run of the ${pkg.name} makes one request, the listing, and ${read}: ${hits} of ${steps.files} digests came from the cache, and a file is skipped when the listing shows it with the same size and ETag. ` +
        `Start-up and exit ${s2(rerun.startup)} s, manifest and check ${s2(manifestAndCheck)} s, opening the storage ${s2(seconds('open-storage'))} s, stat ${s2(seconds('stat'))} s, ` +
        `the cache lookup ${s2(seconds('cache-lookup'))} s, the listing ${s2(seconds('list'))} s and the catalog ${s2(seconds('catalog'))} s (measured on a fresh catalog) add up to ${s2(rerunSum)} s, ` +
        `against its median ${s2(rerun.wall)} s, which is ${s1((100 * rerun.wall) / first.wall)}% of the first publish (target: under ${s0(100 * RERUN_FRACTION_MAX)}%). ` +
        (largest ? `The largest part is ${largest.name}: ${s2(largest.seconds)} s, ${s0((100 * largest.seconds) / rerun.wall)}% of the re-run's median. ` : '') +
        `For comparison, what the listing and the cache replace: a HEAD of every object takes ${s2(seconds('head'))} s here, and reading every file for its digests ${s2(seconds('digests'))} s.`,
    )
  }

  for (const other of packages.filter((candidate) => candidate.id !== pkg.id)) {
    const otherFirst = splitOf(measurements, `${other.id}-livectl`)
    const otherRerun = splitOf(measurements, `${other.id}-rerun`)
    const otherCeiling = splitOf(measurements, `${other.id}-ceiling`)
    if (!otherFirst || !otherRerun || !otherCeiling) continue
    lines.push(
      `- The ${other.name} (${other.files} files, ${s1(other.bytes / 1e6)} MB): its first publish took ${s2(otherFirst.wall)} s (median) against the ceiling's ${s2(otherCeiling.wall)} s, ` +
        `and its no-change re-run, which moves no data, ${s2(otherRerun.wall)} s (${s2(otherRerun.startup)} s of it start-up and exit), ${s1((100 * otherRerun.wall) / otherFirst.wall)}% of its first publish.`,
    )
  }

  const big = stats['big-livectl']
  if (big) {
    const outputs = big.outputs
    const bigCeiling = stats['big-ceiling']
    lines.push(
      `- 1 GiB file, livectl's path (\`bench/publish-file.mjs\`: \`createFilePublisher\`, what publish runs per file; medians of its own timings): the listing ${s2(median(outputs.map((o) => o.listSeconds)))} s, ` +
        `then SHA-256 and upload ${s2(median(outputs.map((o) => o.restSeconds)))} s; the upload cannot start before the hash because the hash goes into the object's metadata. ` +
        `The ceiling's whole upload took ${s2(bigCeiling?.wall.median)} s of wall time. The re-run is the listing (${s2(median(stats['big-rerun']?.outputs.map((o) => o.listSeconds) ?? []))} s) and a digest cache lookup ` +
        `(${s2(median(stats['big-rerun']?.outputs.map((o) => o.restSeconds) ?? []))} s): the file is not read again while its stat is unchanged.`,
    )
  }

  if (diagnosis.bufferedCeiling) {
    const buffered = diagnosis.bufferedCeiling
    lines.push(
      `- Memory of the 1 GiB upload: livectl opens the file with Node's default 64 KiB reads (\`createReadStream(file)\` in src/lib/storage/s3.ts: lib-storage assembles the parts itself), as the plain ceiling does. ` +
        `The same ceiling with an 8 MiB read buffer (one run: \`${buffered.command}\`) peaked at ${s0(buffered.peakRssMb)} MB in ${s2(buffered.wallSeconds)} s, ` +
        `against ${s0(stats['big-ceiling']?.peakRss.median)} MB (median) with 64 KiB chunks and ${s0(big?.peakRss.median)} MB for livectl's path.`,
    )
  }

  return lines
}
