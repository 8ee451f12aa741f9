import path from 'node:path'

import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {invalidationFlags, invalidationFrom} from '../cli/flags-cdn.js'
import {catalogFlags, catalogOptionsFrom, storageConfigFrom, storageFlags} from '../cli/flags.js'
import {chooseProgressMode, runTaskList, type StepUpdate} from '../cli/progress.js'
import {ExitCode, UserError} from '../lib/errors.js'
import {type BatchEntry, type BatchPlan, type BatchResult, planBatch, readInputList, runBatch} from '../lib/jobs/batch.js'
import {buildVodJobSpec, VOD_JOB_DEFAULTS, type VodJobSpec} from '../lib/jobs/job-spec.js'
import type {EnqueueResult} from '../lib/jobs/queue-client.js'
import type {VodJobProgress} from '../lib/jobs/vod-job-runner.js'
import {DEINTERLACE_MODES, parseDeinterlaceMode} from '../lib/media/picture.js'
import {parseRateControl, RATE_CONTROL_MODES} from '../lib/media/rate-control.js'
import {validatePreset, X264_PRESETS} from '../lib/media/encoder-settings.js'
import {parseFormats} from '../lib/package/manifest.js'

export default class Run extends BaseCommand {
  static override summary = 'Transcode, segment and publish recordings in one go: one input or many, resumable.'
  static override description =
    'Each input is one job (transcode, segment, publish), run in turn with a summary at the end. A failed input does not stop the ' +
    'others unless --fail-fast; the exit code is 0 only when every input was published (or had been). Re-running continues each job ' +
    'from its first unfinished stage, and an input published before from the same file and settings is skipped. With --queue, the ' +
    'jobs go to a BullMQ queue on Redis instead, for `livectl worker` processes to run (inputs and --to must then be storage every worker reaches).'

  static override examples = [
    '<%= config.bin %> run talk.mp4 --to s3://media-bucket/vod',
    '<%= config.bin %> run recordings/*.mp4 --to ./livectl-data/media --json',
    '<%= config.bin %> run --from-file new-recordings.txt --to s3://media-bucket/vod --invalidate --cdn-distribution E2ABCDEF123',
    '<%= config.bin %> run keynote.mov --video-id keynote-2026 --title "Keynote 2026" --ladder 1080p,720p,480p --preset fast',
    '<%= config.bin %> run s3://uploads/talk.mp4 --to s3://media-bucket/vod --queue redis://127.0.0.1:6379',
    '<%= config.bin %> run recordings/*.mp4 --to s3://media-bucket/vod --dry-run',
  ]

  static override strict = false

  static override args = {
    inputs: Args.string({description: 'Recordings: files, or storage URIs of objects (s3://bucket/key).'}),
  }

  static override flags = {
    ...catalogFlags,
    ...storageFlags,
    ...invalidationFlags,
    to: Flags.string({description: 'Storage URI to publish to: a folder, file://, s3://bucket/prefix or hdfs://namenode:port/path [default: DATA_DIR/media].', env: 'LIVECTL_PUBLISH_TO'}),
    'from-file': Flags.string({description: 'A file listing inputs, one per line (# comments and blank lines ignored).', env: 'LIVECTL_FROM_FILE'}),
    'video-id': Flags.string({description: 'Video id, with a single input [default: from the input file name].', env: 'LIVECTL_VIDEO_ID'}),
    title: Flags.string({description: 'Title, with a single input [default: the id].', env: 'LIVECTL_TITLE'}),
    // The defaults are the job spec's (job-spec.ts), shown here for --help.
    ladder: Flags.string({description: 'Rungs to make: names such as 1080p,720p,480p,144p, or a JSON ladder file.', env: 'LIVECTL_LADDER', default: VOD_JOB_DEFAULTS.ladder}),
    'segment-duration': Flags.string({description: 'Seconds per segment (and between keyframes).', env: 'LIVECTL_SEGMENT_DURATION', default: String(VOD_JOB_DEFAULTS.segmentDurationSeconds)}),
    preset: Flags.string({description: 'x264 preset.', env: 'LIVECTL_PRESET', default: VOD_JOB_DEFAULTS.preset, options: [...X264_PRESETS]}),
    'rate-control': Flags.string({description: 'How each rung spends bits: capped-crf, per-title or cbr-ish (see `livectl transcode --help`).', env: 'LIVECTL_RATE_CONTROL', default: VOD_JOB_DEFAULTS.rateControl, options: [...RATE_CONTROL_MODES]}),
    deinterlace: Flags.string({description: 'Interlaced recordings: auto (detect), on or off (see `livectl transcode --help`).', env: 'LIVECTL_DEINTERLACE', default: VOD_JOB_DEFAULTS.deinterlace, options: [...DEINTERLACE_MODES]}),
    format: Flags.string({description: 'Manifests to write: hls, dash or hls,dash.', env: 'LIVECTL_FORMAT', default: VOD_JOB_DEFAULTS.formats.join(',')}),
    'chunk-seconds': Flags.string({description: 'Encode each recording in chunks of this many seconds (whole segments), joined without re-encoding.', env: 'LIVECTL_CHUNK_SECONDS'}),
    'fail-fast': Flags.boolean({description: 'Stop at the first input that fails.', env: 'LIVECTL_FAIL_FAST'}),
    'dry-run': Flags.boolean({description: 'Say what each input would do (run, resume from a stage, skip, or fail and why); change nothing.', env: 'LIVECTL_DRY_RUN'}),
    queue: Flags.string({description: 'Enqueue the jobs on this Redis (redis://HOST:PORT) for `livectl worker` instead of running them here.', env: 'LIVECTL_QUEUE'}),
  }

  public async run(): Promise<BatchResult | BatchPlan | EnqueueResult> {
    const {argv, flags} = await this.parse(Run)
    const dataDir = this.dataDir(flags)
    const inputs = [...(argv as string[]), ...(flags['from-file'] ? await readInputList(flags['from-file']) : [])]
    if (inputs.length === 0) throw new UserError('No input: name recordings, or --from-file LIST', {hint: 'See `livectl run --help`.'})
    if (inputs.length > 1 && (flags['video-id'] || flags.title)) throw new UserError('--video-id and --title name one video: use them with a single input')
    const jobs: VodJobSpec[] = inputs.map((input) => buildVodJobSpec({
      input,
      videoId: flags['video-id'],
      title: flags.title,
      to: flags.to ?? path.join(dataDir, 'media'),
      ladder: flags.ladder,
      segmentDurationSeconds: Number(flags['segment-duration']),
      preset: validatePreset(flags.preset),
      rateControl: parseRateControl(flags['rate-control']),
      deinterlace: parseDeinterlaceMode(flags.deinterlace),
      formats: parseFormats(flags.format),
      chunkSeconds: flags['chunk-seconds'] === undefined ? undefined : Number(flags['chunk-seconds']),
      invalidate: invalidationFrom(flags),
    }))

    if (flags['dry-run']) {
      const plan = await planBatch(jobs, {...catalogOptionsFrom(flags, dataDir), ...storageConfigFrom(flags)})
      for (const job of plan.jobs) {
        this.say(`${job.action.padEnd(6)} ${job.videoId} (${job.input})${'stages' in job && job.stages.length > 0 ? `: ${job.stages.join(', ')} to ${job.location}` : ''}${'reason' in job ? `: ${job.reason}` : ''}`)
      }

      return plan
    }

    if (flags.queue) {
      const {enqueueJobs} = await import('../lib/jobs/queue-client.js')
      const result = await enqueueJobs({redisUrl: flags.queue, jobs})
      for (const job of result.jobs) this.say(`queued ${job.videoId} (job ${job.jobId})${job.alreadyQueued ? ': already queued' : ''}`)
      this.say(`${result.jobs.length} job(s) on ${result.queue}; run \`livectl worker --queue ${flags.queue}\` to process them.`)
      return result
    }

    const mode = chooseProgressMode({
      json: this.jsonEnabled(),
      stdoutIsTTY: Boolean(process.stdout.isTTY),
      stderrIsTTY: Boolean(process.stderr.isTTY),
      ci: Boolean(process.env.CI) && process.env.CI !== 'false',
    })
    // The list shows what runBatch does: each row waits for its job's start, follows its progress and shows its outcome.
    const rows = jobs.map(() => createRow())
    const listing = runTaskList(mode, jobs.map((job, index) => ({
      title: `${path.basename(job.input)} -> ${job.videoId}`,
      work: (update) => (rows[index] as Row).follow(update),
    })), (line) => this.logToStderr(line))
    let result: BatchResult
    try {
      result = await runBatch({
        jobs,
        environment: {...catalogOptionsFrom(flags, dataDir), ...storageConfigFrom(flags), signal: this.signal},
        failFast: flags['fail-fast'],
        onJobProgress: (job, progress) => rows[jobs.indexOf(job)]?.progress(progress),
        onJobEnd: (entry, index) => rows[index]?.end(entry),
      })
    } finally {
      for (const row of rows) row.end(undefined)
      await listing
    }

    for (const entry of result.entries) {
      const detail = entry.outcome === 'failed' ? `: ${entry.reason}` : entry.outcome === 'published' || entry.outcome === 'skipped' ? ` at ${entry.location}` : ''
      this.say(`${entry.outcome.padEnd(9)} ${entry.videoId} (${entry.input})${detail}`)
    }

    this.say(`${result.published} published, ${result.skipped} skipped (published before), ${result.failed} failed${result.entries.length - result.published - result.skipped - result.failed > 0 ? `, ${result.entries.length - result.published - result.skipped - result.failed} not run` : ''}.`)
    if (!result.ok) {
      if (this.jsonEnabled()) this.logJson(result)
      // A service failing (3) outranks a bad input (2): an operator retries the former.
      this.exit(result.entries.some((entry) => entry.exitCode === ExitCode.external) ? ExitCode.external : ExitCode.user)
    }

    return result
  }
}

interface Row {
  follow(update: (progress: StepUpdate) => void): Promise<{value: BatchEntry | undefined; outcome: string; failed?: boolean}>
  progress(progress: VodJobProgress): void
  end(entry: BatchEntry | undefined): void
}

function createRow(): Row {
  let update: ((progress: StepUpdate) => void) | undefined
  let finish: ((entry: BatchEntry | undefined) => void) | undefined
  let ended: {entry: BatchEntry | undefined} | undefined
  return {
    follow(next) {
      update = next
      return new Promise((resolve) => {
        finish = (entry) => resolve({
          value: entry,
          outcome: !entry || entry.outcome === 'not-run' ? 'not run' : entry.outcome === 'failed' ? `failed: ${entry.reason}` : entry.outcome === 'skipped' ? 'skipped (published before)' : `published in ${entry.seconds} s`,
          failed: entry?.outcome === 'failed',
        })
        if (ended) finish(ended.entry)
      })
    },
    progress(progress) {
      update?.({fraction: progress.fraction, speed: progress.speed, detail: progress.stage})
    },
    end(entry) {
      if (ended) return
      ended = {entry}
      finish?.(entry)
    },
  }
}
