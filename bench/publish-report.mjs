/**
 * The `## Publish` section of BENCHMARKS.md, from the measurements of bench/publish.mjs.
 */
import {median, summarize} from './support.mjs'

const THROUGHPUT_RATIO_MIN = 0.8
const RERUN_FRACTION_MAX = 0.1
const BIG_PEAK_RSS_MAX_MB = 200
/** The real benchmark: anything less is a smoke run whose numbers mean nothing. */
const FULL_RUNS = 3

const ROWS = [
  {id: 'package-livectl', name: '`livectl publish`, first publish', set: 'package'},
  {id: 'package-ceiling', name: 'ceiling: plain PutObject loop', set: 'package'},
  {id: 'package-rerun', name: '`livectl publish`, no-change re-run', set: 'package', rerun: true},
  {id: 'big-livectl', name: 'livectl publish path (`bench/publish-file.mjs`)', set: 'big'},
  {id: 'big-ceiling', name: 'ceiling: plain lib-storage `Upload`', set: 'big'},
  {id: 'big-rerun', name: 'livectl publish path, no-change re-run', set: 'big', rerun: true},
]

const STEP_NAMES = {
  'read-manifest': 'read livectl-package.json',
  verify: 'check the package',
  stat: 'stat every file',
  hash: 'SHA-256 of every file',
  'head-existing': 'HEAD every object (all present)',
  'head-missing': 'HEAD every object (all absent: 404)',
  'hash-and-head': 'hash and HEAD together, per file',
  list: 'ListObjectsV2 of the prefix (for comparison)',
  put: 'PUT every file (`putFile`)',
  catalog: 'catalog write (SQLite)',
}

const fixed = (digits) => (value) => (value === undefined || Number.isNaN(value) ? 'n/a' : value.toFixed(digits))
const s2 = fixed(2)
const s3 = fixed(3)
const s0 = fixed(0)
const s1 = fixed(1)
const verdict = (ok, partial) => (partial ? `${ok ? 'met' : 'not met'} (smoke run: not a result)` : ok ? '**met**' : '**not met**')
const fence = (lines) => ['```sh', ...lines, '```']
const percentList = (shares) => shares.map((share) => `${s0(100 * share)}%`).join(', ')

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

export function renderPublishReport(report) {
  const {options, machine, pkg, measurements} = report
  const stats = Object.fromEntries(ROWS.map(({id}) => [id, statsOf(measurements, id)]))
  const sizes = {package: {files: pkg.files, bytes: pkg.bytes}, big: {files: 1, bytes: report.bigBytes}}
  const partial = options.runs < FULL_RUNS || options.skipBig
  const invocation = `node bench/publish.mjs --runs ${options.runs} --concurrency ${options.concurrency}${options.skipBig ? ' --skip-1gib' : ''}${options.keep ? ' --keep' : ''}`
  const ratio = (a, b) => (stats[a] && stats[b] ? stats[a].wall.median / stats[b].wall.median : undefined)
  const packageThroughput = ratio('package-ceiling', 'package-livectl')
  const bigThroughput = ratio('big-ceiling', 'big-livectl')
  const packageRerun = ratio('package-rerun', 'package-livectl')
  const bigRerun = ratio('big-rerun', 'big-livectl')
  const bigPeak = stats['big-livectl']?.peakRss.max
  const uploads = ROWS.filter((row) => !row.rerun && stats[row.id])
  const motoShares = uploads.map((row) => stats[row.id].motoCpuShare)
  const contenderShares = uploads.map((row) => stats[row.id].contenderCpuShare)
  const otherShares = ROWS.filter((row) => stats[row.id]).map((row) => stats[row.id].otherCpuShare)

  const lines = ['## Publish', '']
  if (partial) {
    lines.push(
      `> **Smoke run only** (${options.runs} run(s)${options.skipBig ? ', 1 GiB file skipped' : ''}): these numbers only show that the benchmark works. ` +
        `Run \`npm run bench:publish\` (${FULL_RUNS} runs, both cases) for real ones.`,
      '',
    )
  }

  lines.push(
    `Measured ${report.startedAt.toISOString().replace(/\.\d+Z$/, 'Z')} with \`${invocation}\` (\`npm run bench:publish\` builds first and runs the defaults).`,
    '',
    `- Machine: ${machine.cores} cores (nproc), ${machine.cpuModel}, ${machine.memoryGib.toFixed(1)} GiB RAM, ${machine.kernel}; Node ${machine.node}.`,
    `- Load average (1, 5, 15 min) at start: ${report.loadAtStart}; at end: ${report.loadAtEnd}. ` +
      `CPU busy over 3 s with nothing of the benchmark running: ${s0(100 * report.busyAtStart)}% of all cores before the rounds, ${s0(100 * report.busyAtEnd)}% after.`,
    `- S3 server: moto ${report.motoVersion} (\`${report.motoCommand}\`) on the same machine, a fresh one for every contender run, so that no run sees another's objects; ` +
      'the no-change re-runs run against the objects of the publish just before them.',
    `- **moto is the bottleneck for both contenders.** It is one Python process (one core at most: GIL) on the same ${machine.cores} cores as the uploader, ` +
      'and every request costs it about the same CPU whether it is a HEAD or a small PUT, so a run\'s time follows the number of requests it makes. ' +
      `During the uploads moto used ${percentList(motoShares)} of a core (rows below, in table order) and the uploader itself ${percentList(contenderShares)} ` +
      '(the AWS SDK\'s work per request, and hashing). With one large file moto is the whole story; with many small ones the uploader\'s own work per request ' +
      'also takes a good share of the two cores, for livectl and the ceiling alike. ' +
      `Everything else (the benchmark's own /proc sampling every 50 ms, about 10%, and whatever else ran on this shared development machine) took ${percentList(otherShares)} of a core during the rows. ` +
      'The ceiling is what this server on this machine can take, not what S3 could: a ratio to it measures livectl\'s overhead against the server, and the absolute MB/s say nothing about real S3.',
    `- Package: \`${pkg.dir}\`, a real livectl package of ${pkg.files} files (${s1(pkg.bytes / 1e6)} MB): ${s0(pkg.durationSeconds)} s of 320x180 video (testsrc2, 30 fps) with stereo AAC, ` +
      'transcoded to the 144p rung (x264 ultrafast) with 1 s segments and packaged as CMAF for HLS and DASH: one init and one segment per second for video and audio, ' +
      'two media playlists, the master, the MPD and livectl-package.json. Generated once and kept (commands below).' +
      (pkg.generation ? ` Generation took ${Object.entries(pkg.generation).map(([id, seconds]) => `${id} ${s1(seconds)} s`).join(', ')}.` : ''),
    `- 1 GiB file: \`${report.bigFile}\`, ${report.bigBytes} bytes from /dev/urandom, written once per benchmark run and deleted at the end (unless \`--keep\`); it is in the page cache for every contender. ` +
      'A package cannot hold one 1 GiB file cheaply, so `bench/publish-file.mjs` runs what `publishPackage` does per file with livectl\'s compiled storage code: ' +
      '`sha256OfFile` and `head` at once, then `putFile` (multipart above 16 MiB: ' +
      `${report.partBytes / 1024 ** 2} MiB parts, ${report.partQueue} in flight). The ceiling uploads it with \`Upload\` from @aws-sdk/lib-storage, the same part size and queue, ` +
      'a plain `createReadStream` as Body.',
    `- Ceiling for the package: \`bench/publish-ceiling.mjs files\`, a loop of PutObject over every file of the package directory, ${options.concurrency} at once (livectl's \`--concurrency\`), ` +
      'each Body a read stream with ContentLength: no package check, no hashing, no HEAD, no catalog. The bucket is listed after every first upload to check that all objects and bytes arrived.',
    `- ${options.runs} round(s), each in this order: livectl publish and its re-run, the PutObject ceiling, the 1 GiB file with livectl's path and its re-run, the Upload ceiling. ` +
      'Wall time runs from spawn to exit, so it includes Node start-up for every contender, and oclif start-up, the package check and the catalog write for `livectl publish`. ' +
      'Throughput is bytes (MB = 10^6 bytes) or files over that wall time. Peak RSS is the highest total VmRSS of the contender\'s process tree, sampled every 50 ms from /proc; moto is not included (its own peak VmHWM is shown apart). ' +
      'Each contender runs under GNU time (`/usr/bin/time -f`, about 2 MB of the peak) for its own CPU seconds; moto\'s come from /proc, and "other processes" is the machine\'s busy time (/proc/stat) minus both.',
    '',
    '| contender | files | MB | median wall (s) | min | max | MB/s | files/s | median peak RSS (MB) | max peak RSS (MB) | CPU (% of a core): moto | the contender | other processes | moto peak RSS (MB) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  )
  for (const row of ROWS) {
    const stat = stats[row.id]
    if (!stat) continue
    const {files, bytes} = sizes[row.set]
    const label = row.set === 'package' ? `package: ${row.name}` : `1 GiB: ${row.name}`
    const moved = row.rerun ? '(compared)' : ''
    lines.push(
      `| ${label} | ${files}${moved ? ' ' + moved : ''} | ${s1(bytes / 1e6)} | ${s2(stat.wall.median)} | ${s2(stat.wall.min)} | ${s2(stat.wall.max)} | ` +
        `${row.rerun ? '' : s1(bytes / 1e6 / stat.wall.median)} | ${row.rerun || files === 1 ? '' : s0(files / stat.wall.median)} | ${s0(stat.peakRss.median)} | ${s0(stat.peakRss.max)} | ` +
        `${s0(100 * stat.motoCpuShare)} | ${s0(100 * stat.contenderCpuShare)} | ${s0(100 * stat.otherCpuShare)} | ${s0(stat.motoPeakRss)} |`,
    )
  }

  lines.push(
    '',
    '| target | value | target | |',
    '|---|---:|---:|---|',
    `| package: livectl throughput / ceiling throughput (ceiling median wall / livectl median wall) | ${s3(packageThroughput)} | >= ${THROUGHPUT_RATIO_MIN.toFixed(2)} | ${packageThroughput === undefined ? 'n/a' : verdict(packageThroughput >= THROUGHPUT_RATIO_MIN, partial)} |`,
    `| 1 GiB file: livectl throughput / ceiling throughput | ${s3(bigThroughput)} | >= ${THROUGHPUT_RATIO_MIN.toFixed(2)} | ${bigThroughput === undefined ? 'n/a' : verdict(bigThroughput >= THROUGHPUT_RATIO_MIN, partial)} |`,
    `| package: no-change re-run / first publish (median wall) | ${s3(packageRerun)} | < ${RERUN_FRACTION_MAX.toFixed(2)} | ${packageRerun === undefined ? 'n/a' : verdict(packageRerun < RERUN_FRACTION_MAX, partial)} |`,
    `| 1 GiB file: no-change re-run / first upload (median wall) | ${s3(bigRerun)} | < ${RERUN_FRACTION_MAX.toFixed(2)} | ${bigRerun === undefined ? 'n/a' : verdict(bigRerun < RERUN_FRACTION_MAX, partial)} |`,
    `| 1 GiB file: livectl's peak RSS (max over runs, MB) | ${s0(bigPeak)} | < ${BIG_PEAK_RSS_MAX_MB} | ${bigPeak === undefined ? 'n/a' : verdict(bigPeak < BIG_PEAK_RSS_MAX_MB, partial)} |`,
    '',
  )
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
    'The package, generated once (paths relative to the repository; the clip is the `buildTestClipArgs` of `dist/lib/media/test-clip.js`):',
    '',
    ...fence(pkg.commands),
    '',
    'Every contender run starts its own moto on a free port (ENDPOINT below), creates the bucket, and runs with `AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1`:',
    '',
    ...fence([report.commands.livectl, report.commands.ceiling, report.commands.bigLivectl, report.commands.bigCeiling]),
    '',
  )
  return lines.join('\n')
}

function ownReport(output) {
  if (!output) return ''
  if ('uploaded' in output) return `uploaded ${output.uploaded}, skipped ${output.skipped}, ${output.seconds} s`
  if ('action' in output) return `${output.action}: hash ${s2(output.hashSeconds)} s, HEAD ${s2(output.headSeconds)} s, put ${s2(output.putSeconds)} s`
  return `${output.files} files, ${s2(output.seconds)} s`
}

/** Node, oclif, imports and exit: what a livectl run's wall time holds beyond the seconds it reports itself. */
function startupSeconds(measurements) {
  return median(measurements.filter((m) => m.id.startsWith('package-') && m.output && 'uploaded' in m.output).map((m) => m.wallSeconds - m.output.seconds))
}

function renderDiagnosis(report, stats) {
  const {diagnosis, options} = report
  if (!diagnosis) return []
  const lines = ['### Where the time and memory go', '']
  const first = stats['package-livectl']
  const rerun = stats['package-rerun']
  const ceiling = stats['package-ceiling']
  lines.push(
    `One pass after the rounds (a single sample: steps vary by about 20% from pass to pass), on a fresh moto holding one publish of the package: \`bench/publish-steps.mjs\` times each step of a publish with livectl's compiled code, one step after the other, ${options.concurrency} files at once where publish runs them at once. ` +
      `Loading publish.js (AWS SDK, catalog, package checks) took ${s2(diagnosis.steps.importSeconds)} s in that process. ` +
      `Before publish starts its own clock, \`node bin/run.js publish\` spends ${s2(startupSeconds(report.measurements))} s (median over every livectl run of wall time minus the \`seconds\` it reports: Node, oclif, the command's imports, and exit).`,
    '',
    '| step | seconds | what |',
    '|---|---:|---|',
    ...diagnosis.steps.steps.map((step) => `| ${STEP_NAMES[step.id] ?? step.id} | ${s2(step.seconds)} | ${step.detail} |`),
    '',
  )
  if (first && rerun && ceiling) {
    const seconds = (id) => diagnosis.steps.steps.find((step) => step.id === id)?.seconds
    const startup = startupSeconds(report.measurements)
    const firstSum = startup + seconds('verify') + seconds('head-missing') + seconds('put') + seconds('catalog')
    const rerunSum = startup + seconds('verify') + seconds('hash-and-head') + seconds('catalog')
    lines.push(
      `- A first publish makes two requests per file where the ceiling makes one: a HEAD (404 on a first publish), then the PUT. ` +
        `Timed apart above: HEAD of every absent object ${s2(seconds('head-missing'))} s, PUT of every file ${s2(seconds('put'))} s; with CLI start-up ${s2(startup)} s, ` +
        `the package check ${s2(seconds('verify'))} s and the catalog ${s2(seconds('catalog'))} s that adds up to ${s2(firstSum)} s, against livectl's median ${s2(first.wall.median)} s; ` +
        `the ceiling (PUT only) took ${s2(ceiling.wall.median)} s. Hashing the whole package (${s2(seconds('hash'))} s) hides behind the HEADs.`,
      `- A no-change re-run makes one HEAD per file: start-up, check, hash-and-HEAD (${s2(seconds('hash-and-head'))} s) and catalog add up to ${s2(rerunSum)} s, ` +
        `against its median ${s2(rerun.wall.median)} s, which is ${s0((100 * rerun.wall.median) / first.wall.median)}% of the first publish. ` +
        `A HEAD costs moto about what a small PUT does (HEAD of every present object ${s2(seconds('head-existing'))} s, PUT of every file ${s2(seconds('put'))} s), ` +
        `so with one request per file a re-run cannot get far below half a first publish that makes two. ` +
        `One ListObjectsV2 of the prefix returns every key, size and ETag in ${s2(seconds('list'))} s; it carries no user metadata (livectl keeps the SHA-256 there), so comparing by listing needs another fingerprint (for example the ETag, an MD5 for single-part uploads) or an index object.`,
    )
  }

  const big = stats['big-livectl']
  if (big) {
    const outputs = big.outputs
    const bigCeiling = stats['big-ceiling']
    lines.push(
      `- 1 GiB file, livectl's path (medians of its own timings): SHA-256 ${s2(median(outputs.map((o) => o.hashSeconds)))} s and HEAD ${s2(median(outputs.map((o) => o.headSeconds)))} s at once, ` +
        `then the upload ${s2(median(outputs.map((o) => o.putSeconds)))} s; the upload cannot start before the hash because the hash goes into the object's metadata. ` +
        `The ceiling's whole upload took ${s2(bigCeiling?.wall.median)} s of wall time. The re-run is the hash again (${s2(median(stats['big-rerun']?.outputs.map((o) => o.hashSeconds) ?? []))} s) and one HEAD.`,
    )
  }

  if (diagnosis.bufferedCeiling) {
    const buffered = diagnosis.bufferedCeiling
    lines.push(
      `- Memory of the 1 GiB upload: livectl opens the file with \`createReadStream(file, {highWaterMark: 8 MiB})\` (src/lib/storage/s3.ts); the plain ceiling uses Node's default 64 KiB chunks. ` +
        `The same ceiling with an 8 MiB read buffer (one run: \`${buffered.command}\`) peaked at ${s0(buffered.peakRssMb)} MB in ${s2(buffered.wallSeconds)} s, ` +
        `against ${s0(stats['big-ceiling']?.peakRss.median)} MB (median) with 64 KiB chunks and ${s0(big?.peakRss.median)} MB for livectl's path.`,
    )
  }

  return lines
}
