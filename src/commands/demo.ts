import {Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {type DemoResult, runDemo} from '../lib/demo.js'
import {X264_PRESETS} from '../lib/media/transcode.js'

export default class Demo extends BaseCommand {
  static override summary = 'Run the whole VOD pipeline on a generated test clip, into the data directory.'
  static override description =
    'Generates a short 720p test clip (testsrc2 with a tone), transcodes it to the ladder, packages it as HLS and DASH, publishes it ' +
    'to DATA_DIR/media and registers it in the catalog as video "demo", then prints where everything is. The quick start runs this.'

  static override examples = ['<%= config.bin %> demo', '<%= config.bin %> demo --duration 20 --data-dir /tmp/livectl --json']

  static override flags = {
    duration: Flags.integer({description: 'Length of the generated clip in seconds.', env: 'LIVECTL_DEMO_DURATION', default: 6, min: 1, max: 600}),
    size: Flags.string({description: 'Picture size of the generated clip, WIDTHxHEIGHT.', env: 'LIVECTL_DEMO_SIZE', default: '1280x720'}),
    preset: Flags.string({description: 'x264 preset.', env: 'LIVECTL_PRESET', default: 'veryfast', options: [...X264_PRESETS]}),
    'segment-duration': Flags.string({description: 'Segment duration in seconds.', env: 'LIVECTL_SEGMENT_DURATION', default: '2'}),
  }

  public async run(): Promise<DemoResult> {
    const {flags} = await this.parse(Demo)
    const size = /^(\d+)x(\d+)$/.exec(flags.size)
    if (!size) this.error(`--size must look like 1280x720 (got ${flags.size})`, {exit: 2})
    const result = await this.step('Demo: generate, transcode, segment, publish', (update) =>
      runDemo({
        dataDir: this.dataDir(flags),
        durationSeconds: flags.duration,
        width: Number(size[1]),
        height: Number(size[2]),
        preset: flags.preset,
        segmentDurationSeconds: Number(flags['segment-duration']),
        signal: this.signal,
        onProgress: (_stage, progress) => update(progress),
      }),
    )
    this.say(`Source:     ${result.sourceFile}`)
    this.say(`Renditions: ${result.renditionsDir} (${result.renditions.map((rendition) => `${rendition.name} ${rendition.width}x${rendition.height}`).join(', ')})`)
    this.say(`HLS:        ${result.hlsMaster}`)
    this.say(`DASH:       ${result.dashManifest}`)
    this.say(`Published:  ${result.publishedTo} (catalog video "${result.videoId}")`)
    this.say(`${result.segmentCount} segments, ${(result.totalBytes / 1e6).toFixed(1)} MB. Play it: ffplay ${result.hlsMaster}`)
    this.say(`Serve it:   livectl serve --data-dir ${this.dataDir(flags)}, then GET http://127.0.0.1:8080/video/time?id=${result.videoId}&device=laptop`)
    return result
  }
}
