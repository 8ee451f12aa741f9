import path from 'node:path'

import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {slugFromPath} from '../cli/paths.js'
import {type PackageManifest, parseFormats} from '../lib/package/manifest.js'
import {type SegmentDryRun, segmentPackage} from '../lib/package/segment.js'

export default class Segment extends BaseCommand {
  static override summary = 'Package transcoded renditions as HLS and MPEG-DASH (one CMAF segment set for both).'
  static override description =
    'Reads a `transcode` output, checks that keyframes line up at segment boundaries, and packages without re-encoding: ' +
    'fMP4 init and media segments per rendition (audio once), an HLS master with one media playlist per rendition, and a ' +
    'DASH MPD. Every playlist is parsed and every referenced file checked before the package appears. Writes livectl-package.json.'

  static override examples = [
    '<%= config.bin %> segment work/talk -o packages/talk',
    '<%= config.bin %> segment work/talk -o packages/talk --format hls',
    '<%= config.bin %> segment work/talk -o packages/talk --json',
  ]

  static override args = {
    dir: Args.string({description: 'Directory written by `livectl transcode` (holds renditions.json).', required: true}),
  }

  static override flags = {
    output: Flags.string({char: 'o', description: 'Package directory [default: DATA_DIR/packages/NAME].', env: 'LIVECTL_OUTPUT'}),
    format: Flags.string({description: 'Manifests to write: hls, dash or hls,dash.', env: 'LIVECTL_FORMAT', default: 'hls,dash'}),
    'segment-duration': Flags.string({
      description: 'Segment duration in seconds [default: the one the renditions were encoded for].',
      env: 'LIVECTL_SEGMENT_DURATION',
    }),
    'dry-run': Flags.boolean({description: 'Print the ffmpeg command; write nothing.', env: 'LIVECTL_DRY_RUN'}),
  }

  public async run(): Promise<PackageManifest | SegmentDryRun> {
    const {args, flags} = await this.parse(Segment)
    const outputDir = flags.output ?? path.join(this.dataDir(flags), 'packages', slugFromPath(args.dir))
    const options = {
      inputDir: args.dir,
      outputDir,
      formats: parseFormats(flags.format),
      segmentDurationSeconds: flags['segment-duration'] === undefined ? undefined : Number(flags['segment-duration']),
      signal: this.signal,
    }

    if (flags['dry-run']) {
      const plan = await segmentPackage({...options, dryRun: true})
      this.say(plan.command.map((arg) => (/[\s;[\]'"$]/.test(arg) ? `'${arg}'` : arg)).join(' '))
      return plan
    }

    const manifest = (await this.step(`Packaging ${path.basename(path.resolve(args.dir))}`, (update) =>
      segmentPackage({...options, onProgress: update}),
    )) as PackageManifest
    const segments = [...manifest.renditions, ...(manifest.audio ? [manifest.audio] : [])].reduce((sum, track) => sum + track.segments.length, 0)
    this.say(`${manifest.renditions.length === 0 && manifest.audio ? 'audio only' : `${manifest.renditions.length} renditions${manifest.audio ? ' + audio' : ''}`}, ${segments} segments, ${manifest.totalFiles} files, ${manifest.totalBytes} bytes`)
    if (manifest.hlsMaster) this.say(`HLS:  ${path.resolve(outputDir, manifest.hlsMaster)}`)
    if (manifest.dashManifest) this.say(`DASH: ${path.resolve(outputDir, manifest.dashManifest)}`)
    return manifest
  }
}
