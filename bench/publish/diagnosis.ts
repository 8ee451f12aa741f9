/**
 * "Where the time and memory go", the diagnostics part of the `## Publish` section: the steps of a
 * publish timed apart (bench/publish/steps.mjs), the start-up of every run, and the 1 GiB upload's
 * memory with livectl's read buffer.
 */
import {fixed} from '../support/report.js'
import {median} from '../support/stats.js'
import {type BigOutput, type Measurement, PACKAGE_ROWS, type PublishReport, RERUN_FRACTION_MAX, type RowStats} from './results.js'

const STEP_NAMES: Record<string, string> = {
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

const s0 = fixed(0, 'n/a')
const s1 = fixed(1, 'n/a')
const s2 = fixed(2, 'n/a')

/** Sum of seconds; undefined (shown as n/a) when any part is missing. */
const sum = (values: ReadonlyArray<number | undefined>) =>
  values.some((value) => value === undefined || Number.isNaN(value)) ? undefined : values.reduce<number>((total, value) => total + (value ?? 0), 0)

/**
 * Wall time split into the contender's own clock (the `seconds` it reports: livectl from the
 * start of publishPackage to its end; the ceiling from its first request to its last answer) and
 * the rest (Node start-up, imports, oclif for livectl, exit). Medians over the runs of `id`.
 */
function splitOf(measurements: readonly Measurement[], id: string): {wall: number; own: number; startup: number} | undefined {
  const mine = measurements.filter((m) => m.id === id && typeof m.output?.seconds === 'number')
  if (mine.length === 0) return undefined
  return {
    wall: median(mine.map((m) => m.wallSeconds)),
    own: median(mine.map((m) => m.output.seconds)),
    startup: median(mine.map((m) => m.wallSeconds - m.output.seconds)),
  }
}

export function renderDiagnosis(report: PublishReport, stats: Record<string, RowStats | undefined>): string[] {
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
  const seconds = (id: string) => steps.steps.find((step) => step.id === id)?.seconds
  const first = splitOf(measurements, `${pkg.id}-livectl`)
  const rerun = splitOf(measurements, `${pkg.id}-rerun`)
  const ceiling = splitOf(measurements, `${pkg.id}-ceiling`)
  lines.push(
    `One pass after the rounds (a single sample), on a fresh moto holding one \`livectl publish\` of the ${pkg.name} (${steps.files} files, ${s1(steps.bytes / 1e6)} MB) made with its own data directory, whose digest cache the lookup step reads: ` +
      `\`bench/publish/steps.mjs\` times each step of a publish with livectl's compiled code, one step after the other, ${options.concurrency} files at once where publish runs them at once ` +
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
    const largest = rerunParts.flatMap((part) => (part.seconds !== undefined && !Number.isNaN(part.seconds) ? [{name: part.name, seconds: part.seconds}] : [])).sort((a, b) => b.seconds - a.seconds)[0]
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
    const outputs = big.outputs as BigOutput[]
    const rerunOutputs = stats['big-rerun']?.outputs as BigOutput[] | undefined
    const bigCeiling = stats['big-ceiling']
    lines.push(
      `- 1 GiB file, livectl's path (\`bench/publish/file.mjs\`: \`createFilePublisher\`, what publish runs per file; medians of its own timings): the listing ${s2(median(outputs.map((o) => o.listSeconds)))} s, ` +
        `then SHA-256 and upload ${s2(median(outputs.map((o) => o.restSeconds)))} s; the upload cannot start before the hash because the hash goes into the object's metadata. ` +
        `The ceiling's whole upload took ${s2(bigCeiling?.wall.median)} s of wall time. The re-run is the listing (${s2(median(rerunOutputs?.map((o) => o.listSeconds) ?? []))} s) and a digest cache lookup ` +
        `(${s2(median(rerunOutputs?.map((o) => o.restSeconds) ?? []))} s): the file is not read again while its stat is unchanged.`,
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
