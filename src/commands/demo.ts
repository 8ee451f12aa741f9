import {Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {catalogFlags, catalogOptionsFrom} from '../cli/flags.js'
import {startApiServer} from '../lib/api/serve.js'
import {type DemoResult, runDemo} from '../lib/jobs/demo.js'
import {X264_PRESETS} from '../lib/media/encoder-settings.js'

export default class Demo extends BaseCommand {
  static override summary = 'Run the whole VOD pipeline on a generated test clip, into the data directory; with --serve, serve it to watch.'
  static override description =
    'Generates a short 720p test clip (testsrc2 with a tone), transcodes it to the ladder, packages it as HLS and DASH, publishes it ' +
    'to DATA_DIR/media and registers it in the catalog as video "demo", then prints where everything is and the URL to watch it on. ' +
    'With --serve it then runs `livectl serve` on that data directory until SIGINT. The quick start runs this.'

  static override examples = [
    '<%= config.bin %> demo',
    '<%= config.bin %> demo --serve --port 8080',
    '<%= config.bin %> demo --duration 20 --data-dir /tmp/livectl --json',
  ]

  static override flags = {
    ...catalogFlags,
    duration: Flags.integer({description: 'Length of the generated clip in seconds.', env: 'LIVECTL_DEMO_DURATION', default: 6, min: 1, max: 600}),
    size: Flags.string({description: 'Picture size of the generated clip, WIDTHxHEIGHT.', env: 'LIVECTL_DEMO_SIZE', default: '1280x720'}),
    preset: Flags.string({description: 'x264 preset.', env: 'LIVECTL_PRESET', default: 'veryfast', options: [...X264_PRESETS]}),
    'segment-duration': Flags.string({description: 'Segment duration in seconds.', env: 'LIVECTL_SEGMENT_DURATION', default: '2'}),
    serve: Flags.boolean({description: 'Then serve the API and the watch page until SIGINT (as `livectl serve`).', env: 'LIVECTL_DEMO_SERVE'}),
    host: Flags.string({description: 'With --serve: address to listen on.', env: 'LIVECTL_HOST', default: '127.0.0.1'}),
    port: Flags.integer({description: 'With --serve: port to listen on (0 picks a free one).', env: 'LIVECTL_PORT', default: 8080, min: 0, max: 65_535}),
  }

  public async run(): Promise<DemoResult & {watchUrl: string}> {
    const {flags} = await this.parse(Demo)
    const size = /^(\d+)x(\d+)$/.exec(flags.size)
    if (!size) this.error(`--size must look like 1280x720 (got ${flags.size})`, {exit: 2})
    const result = await this.step('Demo: generate, transcode, segment, publish', (update) =>
      runDemo({
        ...catalogOptionsFrom(flags, this.dataDir(flags)),
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
    this.say(`${result.segmentCount} segments, ${(result.totalBytes / 1e6).toFixed(1)} MB.`)
    if (!flags.serve) {
      const watchUrl = `http://${flags.host}:${flags.port}/watch/${result.videoId}`
      this.say(`Watch it:   livectl serve --data-dir ${this.dataDir(flags)}, then open ${watchUrl}`)
      return {...result, watchUrl}
    }

    const server = await startApiServer({...catalogOptionsFrom(flags, this.dataDir(flags)), host: flags.host, port: flags.port})
    const watchUrl = `${server.url}/watch/${result.videoId}`
    // On stderr too, so it shows under --json (whose stdout carries only the result, at the end).
    process.stderr.write(`livectl API listening on ${server.url} (catalog ${server.catalog})\n`)
    this.say(`Watch it:   ${watchUrl}`)
    this.say('Serving until Ctrl-C.')
    if (!this.signal.aborted) await new Promise((resolve) => this.signal.addEventListener('abort', resolve, {once: true}))
    await server.close()
    return {...result, watchUrl}
  }
}
