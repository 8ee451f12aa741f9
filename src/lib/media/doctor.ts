/** `diagnoseTools`: which ffmpeg/ffprobe livectl would run and whether they can do the job. */
import {LivectlError} from '../errors.js'
import {
  MINIMUM_FFMPEG_MAJOR,
  readCapabilities,
  readToolVersion,
  resolveTool,
  type ToolCapabilities,
  type ToolName,
  type ToolSource,
} from './tools.js'

export interface ToolReport {
  name: ToolName
  found: boolean
  path?: string
  source?: ToolSource
  version?: string
  major?: number
  supported: boolean
  problem?: string
}

export interface DoctorReport {
  ok: boolean
  ffmpeg: ToolReport
  ffprobe: ToolReport
  capabilities?: ToolCapabilities
  problems: string[]
  /** Worth fixing, but livectl can still run: `ok` stays true. */
  warnings: string[]
}

async function inspect(name: ToolName): Promise<ToolReport> {
  try {
    const tool = resolveTool(name)
    const version = await readToolVersion(tool)
    const supported = version.major >= MINIMUM_FFMPEG_MAJOR || name === 'ffprobe'
    return {
      name,
      found: true,
      path: tool.path,
      source: tool.source,
      version: version.version,
      major: version.major,
      supported,
      problem: supported ? undefined : `FFmpeg ${version.version} is older than ${MINIMUM_FFMPEG_MAJOR}.0`,
    }
  } catch (error) {
    const message = error instanceof LivectlError ? error.message : String(error)
    return {name, found: false, supported: false, problem: message}
  }
}

const CAPABILITY_LABELS: Record<keyof ToolCapabilities, string> = {
  libx264: 'libx264 encoder',
  aac: 'aac encoder',
  mp4Muxer: 'mp4 muxer',
  hlsMuxer: 'hls muxer',
  dashMuxer: 'dash muxer',
  hlsFmp4: 'fMP4 HLS segments',
  dashCmaf: 'CMAF segments with HLS playlists from the dash muxer',
}

export function capabilityLabel(key: keyof ToolCapabilities): string {
  return CAPABILITY_LABELS[key]
}

/**
 * ffprobe reads what ffmpeg writes and what ffmpeg will read: one from another build may parse
 * differently, or crash (the npm package's static ffprobe dies on every MPEG-TS file). The
 * `-version` strings tell builds apart.
 */
export function findToolWarnings(ffmpeg: ToolReport, ffprobe: ToolReport): string[] {
  if (!ffmpeg.version || !ffprobe.version || ffmpeg.version === ffprobe.version) return []
  return [
    `ffmpeg (${ffmpeg.path}) is version ${ffmpeg.version} but ffprobe (${ffprobe.path}, ${ffprobe.source}) is version ${ffprobe.version}: ` +
      'they come from different builds; set LIVECTL_FFPROBE to the ffprobe of the same build as ffmpeg',
  ]
}

export async function diagnoseTools(): Promise<DoctorReport> {
  const [ffmpeg, ffprobe] = await Promise.all([inspect('ffmpeg'), inspect('ffprobe')])
  const problems = [ffmpeg.problem, ffprobe.problem].filter((problem): problem is string => Boolean(problem))
  let capabilities: ToolCapabilities | undefined
  if (ffmpeg.found && ffmpeg.path && ffmpeg.source) {
    capabilities = await readCapabilities({name: 'ffmpeg', path: ffmpeg.path, source: ffmpeg.source})
    for (const [key, present] of Object.entries(capabilities) as Array<[keyof ToolCapabilities, boolean]>) {
      if (!present) problems.push(`ffmpeg lacks the ${CAPABILITY_LABELS[key]}`)
    }
  }

  return {ok: problems.length === 0, ffmpeg, ffprobe, capabilities, problems, warnings: findToolWarnings(ffmpeg, ffprobe)}
}
