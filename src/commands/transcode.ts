import path from 'node:path'

import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {slugFromPath} from '../cli/paths.js'
import {UserError} from '../lib/errors.js'
import {loadLadder} from '../lib/media/ladder.js'
import {DEINTERLACE_MODES, parseDeinterlaceMode} from '../lib/media/picture.js'
import {DEFAULT_RATE_CONTROL, parseRateControl, RATE_CONTROL_MODES} from '../lib/media/rate-control.js'
import {X264_PRESETS} from '../lib/media/encoder-settings.js'
import type {RenditionsManifest} from '../lib/media/renditions.js'
import type {TranscodeDryRun} from '../lib/media/transcode-options.js'
import {transcodeLadder} from '../lib/media/transcode.js'

export default class Transcode extends BaseCommand {
  static override summary = 'Transcode one source into a ladder of H.264/AAC renditions (never upscaled).'
  static override description =
    'Decodes the source once and encodes every rung in one ffmpeg process, with keyframes exactly every segment duration ' +
    'so `livectl segment` can package the renditions without re-encoding. Writes one MP4 per rung and renditions.json; ' +
    'the directory appears only when complete. An audio-only source (a podcast: mp3, m4a, wav, ogg) gives one stereo AAC rendition instead of a ladder.'

  static override examples = [
    '<%= config.bin %> transcode talk.mp4 -o work/talk',
    '<%= config.bin %> transcode phone.mov -o work/phone --ladder 720p,480p,144p --preset fast',
    '<%= config.bin %> transcode talk.mp4 -o work/talk --ladder ./my-ladder.json --json',
    '<%= config.bin %> transcode talk.mp4 --dry-run',
    '<%= config.bin %> transcode talk.mp4 -o work/talk --rate-control cbr-ish',
    '<%= config.bin %> transcode lecture-3h.mp4 -o work/lecture --chunk-seconds 60',
    '<%= config.bin %> transcode /shared/lecture-3h.mp4 -o /shared/work/lecture --chunk-seconds 60 --queue redis://127.0.0.1:6379',
  ]

  static override args = {
    input: Args.string({description: 'Source recording (video, or audio only).', required: true}),
  }

  static override flags = {
    output: Flags.string({char: 'o', description: 'Output directory [default: DATA_DIR/renditions/NAME].', env: 'LIVECTL_OUTPUT'}),
    ladder: Flags.string({
      description: 'Rungs to make: names such as 1080p,720p,480p,144p (also 360p, 240p), or a JSON ladder file.',
      env: 'LIVECTL_LADDER',
      default: '1080p,720p,480p,144p',
    }),
    'segment-duration': Flags.string({description: 'Seconds between keyframes (the segment duration).', env: 'LIVECTL_SEGMENT_DURATION', default: '2'}),
    preset: Flags.string({description: 'x264 preset.', env: 'LIVECTL_PRESET', default: 'veryfast', options: [...X264_PRESETS]}),
    'rate-control': Flags.string({
      description: 'How each rung spends bits: capped-crf (one quality target, x264 CRF 23, under each rung\'s cap), per-title (a quick probe of the source picks each rung\'s quality under its cap: more bits on easy content), or cbr-ish (each rung\'s fixed bit rate).',
      env: 'LIVECTL_RATE_CONTROL',
      default: DEFAULT_RATE_CONTROL,
      options: [...RATE_CONTROL_MODES],
    }),
    deinterlace: Flags.string({
      description: 'Interlaced recordings (broadcast, 1080i cameras): auto detects them (the stream\'s field order, else a short idet look at the pictures) and deinterlaces with bwdif; on always does; off never does.',
      env: 'LIVECTL_DEINTERLACE',
      default: 'auto',
      options: [...DEINTERLACE_MODES],
    }),
    'chunk-seconds': Flags.string({description: 'Encode in chunks of this many seconds (whole segments), one after another, joined without re-encoding (the audio is encoded once); see `livectl worker` to spread them.', env: 'LIVECTL_CHUNK_SECONDS'}),
    queue: Flags.string({description: 'With --chunk-seconds: encode the chunks on the workers of this queue (redis://HOST:PORT), all at once; the input and output must be on a folder every worker sees.', env: 'LIVECTL_QUEUE'}),
    'dry-run': Flags.boolean({description: 'Print the plan and the ffmpeg command; write nothing.', env: 'LIVECTL_DRY_RUN'}),
  }

  public async run(): Promise<RenditionsManifest | TranscodeDryRun> {
    const {args, flags} = await this.parse(Transcode)
    const outputDir = flags.output ?? path.join(this.dataDir(flags), 'renditions', slugFromPath(args.input))
    const options = {
      input: args.input,
      outputDir,
      rungs: await loadLadder(flags.ladder),
      segmentDurationSeconds: Number(flags['segment-duration']),
      preset: flags.preset,
      rateControl: parseRateControl(flags['rate-control']),
      deinterlace: parseDeinterlaceMode(flags.deinterlace),
      ...(flags['chunk-seconds'] === undefined ? {} : {chunkSeconds: Number(flags['chunk-seconds'])}),
      signal: this.signal,
    }

    if (flags['dry-run']) {
      const plan = await transcodeLadder({...options, dryRun: true})
      if (plan.hasVideo === false) {
        this.say(`${path.basename(args.input)} has no video: one AAC rendition (stereo 48 kHz); the ladder and rate control do not apply`)
      } else {
        for (const rendition of plan.plan) this.say(`${rendition.name}: ${rendition.width}x${rendition.pixelHeight}, cap ${rendition.maxRateKbps} kbps`)
        this.say(`Rate control: ${plan.rateControl}${plan.rateControl === 'per-title' ? ' (each rung\'s CRF is chosen by a probe when it runs; capped-crf\'s shown)' : ''}`)
      }

      this.say(plan.command.map((arg) => (/[\s;[\]'"]/.test(arg) ? `'${arg}'` : arg)).join(' '))
      return plan
    }

    if (flags.queue && flags['chunk-seconds'] === undefined) throw new UserError('--queue spreads chunks: use it with --chunk-seconds')
    const chunks = flags.queue ? (await import('../lib/jobs/chunk-fanout.js')).createQueueChunkEncoder(flags.queue) : undefined
    let manifest: RenditionsManifest
    try {
      manifest = (await this.step(`Transcoding ${path.basename(args.input)}`, (update) =>
        transcodeLadder({...options, ...(chunks ? {chunkEncoder: chunks.encode} : {}), onProgress: update}),
      )) as RenditionsManifest
    } finally {
      await chunks?.close()
    }

    for (const rendition of manifest.renditions) {
      const rate = rendition.rateControl?.mode === 'crf' ? `crf ${rendition.rateControl.crf}` : `${rendition.videoBitrateKbps} kbps`
      const measured = rendition.measuredVideo ? `${rendition.measuredVideo.averageKbps} kbps avg, ${rendition.measuredVideo.peakKbps} peak` : ''
      this.say(`${rendition.name.padEnd(6)} ${`${rendition.width}x${rendition.height}`.padEnd(10)} ${rendition.codecs.padEnd(22)} ${rate.padEnd(11)} ${measured.padEnd(28)} ${rendition.file}`)
    }

    const audio = manifest.audioRendition
    if (audio) this.say(`${audio.name.padEnd(6)} ${'no video'.padEnd(10)} ${audio.codecs.padEnd(22)} ${`${audio.bitrateKbps} kbps`.padEnd(11)} ${`${audio.channels} ch, ${audio.sampleRate} Hz`.padEnd(28)} ${audio.file}`)
    this.say(`Renditions written to ${path.resolve(outputDir)}`)
    // On stderr, also under --json (where the result carries them in `warnings` too).
    for (const warning of manifest.warnings ?? []) process.stderr.write(`Warning: ${warning}\n`)
    return manifest
  }
}
