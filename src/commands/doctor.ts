import {BaseCommand} from '../cli/base-command.js'
import {ExitCode} from '../lib/errors.js'
import {capabilityLabel, type DoctorReport, diagnoseTools} from '../lib/media/doctor.js'
import type {ToolCapabilities} from '../lib/media/tools.js'

export default class Doctor extends BaseCommand {
  static override summary = 'Check the ffmpeg and ffprobe livectl uses and what they can do.'
  static override description =
    'Shows which ffmpeg/ffprobe binaries are used (LIVECTL_FFMPEG / LIVECTL_FFPROBE, the ffprobe beside ffmpeg, PATH, or the npm packages), ' +
    'their versions, a warning when ffmpeg and ffprobe come from different builds, and whether each capability the pipeline needs is present. Exits non-zero when something is missing.'

  static override examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor --json']

  public async run(): Promise<DoctorReport> {
    await this.parse(Doctor)
    const report = await diagnoseTools()
    if (!this.jsonEnabled()) {
      for (const tool of [report.ffmpeg, report.ffprobe]) {
        this.log(tool.found ? `${tool.name}: ${tool.path} (${tool.source}) version ${tool.version}` : `${tool.name}: not found`)
      }

      for (const [key, present] of Object.entries(report.capabilities ?? {}) as Array<[keyof ToolCapabilities, boolean]>) {
        this.log(`  ${present ? 'ok     ' : 'MISSING'}  ${capabilityLabel(key)}`)
      }

      for (const problem of report.problems) this.log(`problem: ${problem}`)
      for (const warning of report.warnings) this.log(`warning: ${warning}`)
      this.log(report.ok ? 'All good.' : 'Not ready: install FFmpeg 5 or newer (`sudo apt-get install -y ffmpeg`).')
    }

    if (!report.ok) {
      if (this.jsonEnabled()) this.logJson(report)
      this.exit(ExitCode.user)
    }

    return report
  }
}
