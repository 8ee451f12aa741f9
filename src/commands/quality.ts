import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {measureQuality, type QualityReport} from '../lib/media/quality.js'

export default class Quality extends BaseCommand {
  static override summary = 'Measure each rung of a transcode against its source: SSIM, PSNR, bit rate and bits per pixel.'
  static override description =
    'Scales the source to each rung\'s picture (lanczos) and compares them frame by frame with ffmpeg\'s ssim and psnr filters ' +
    '(and libvmaf where this ffmpeg has it). Reports the rung\'s real video bit rate (average and peak over one segment) and bits per pixel.'

  static override examples = [
    '<%= config.bin %> quality work/talk --source talk.mp4',
    '<%= config.bin %> quality work/talk --source talk.mp4 --json',
  ]

  static override args = {
    dir: Args.string({description: 'Directory written by `livectl transcode` (holds renditions.json).', required: true}),
  }

  static override flags = {
    source: Flags.string({description: 'The recording the renditions were made from.', required: true, env: 'LIVECTL_SOURCE'}),
  }

  public async run(): Promise<QualityReport> {
    const {args, flags} = await this.parse(Quality)
    const report = (await this.step('Measuring quality', (update) => measureQuality({dir: args.dir, source: flags.source, signal: this.signal, onProgress: update}))) as QualityReport
    this.say(`${'rung'.padEnd(8)}${'size'.padEnd(11)}${'SSIM'.padEnd(9)}${'SSIM dB'.padEnd(9)}${'PSNR dB'.padEnd(9)}${report.vmafAvailable ? 'VMAF'.padEnd(7) : ''}${'kbps'.padEnd(8)}${'peak'.padEnd(8)}bits/px`)
    for (const rung of report.rungs) {
      this.say(
        `${rung.name.padEnd(8)}${`${rung.width}x${rung.height}`.padEnd(11)}${rung.ssim.toFixed(4).padEnd(9)}${rung.ssimDb.toFixed(2).padEnd(9)}${rung.psnrDb.toFixed(2).padEnd(9)}` +
          `${rung.vmaf === undefined ? '' : rung.vmaf.toFixed(1).padEnd(7)}${String(rung.videoKbps).padEnd(8)}${String(rung.peakKbps).padEnd(8)}${rung.bitsPerPixel.toFixed(3)}`,
      )
    }

    if (!report.vmafAvailable) this.say('(VMAF: this ffmpeg has no libvmaf filter)')
    return report
  }
}
