/**
 * Parses ffmpeg's `-progress` output: blocks of key=value lines, each ending in
 * `progress=continue` or `progress=end`.
 */

export interface FfmpegProgress {
  /** Media time written so far; undefined while ffmpeg reports N/A. */
  outTimeSeconds?: number
  /** Times realtime, e.g. 1.25. */
  speed?: number
  frame?: number
  fps?: number
  totalSizeBytes?: number
  done: boolean
}

function parseProgressBlock(fields: ReadonlyMap<string, string>): FfmpegProgress {
  const number = (key: string) => {
    const raw = fields.get(key)
    if (raw === undefined || raw === 'N/A') return undefined
    const parsed = Number.parseFloat(raw)
    return Number.isFinite(parsed) ? parsed : undefined
  }

  // out_time_us is the precise one; out_time_ms is also microseconds (a historical misnomer).
  const microseconds = number('out_time_us') ?? number('out_time_ms')
  return {
    outTimeSeconds: microseconds === undefined || microseconds < 0 ? undefined : microseconds / 1e6,
    speed: number('speed'),
    frame: number('frame'),
    fps: number('fps'),
    totalSizeBytes: number('total_size'),
    done: fields.get('progress') === 'end',
  }
}

/** Returns a line consumer that calls `onProgress` once per complete block. */
export function createProgressParser(onProgress: (progress: FfmpegProgress) => void): (line: string) => void {
  let fields = new Map<string, string>()
  return (line) => {
    const separator = line.indexOf('=')
    if (separator <= 0) return
    const key = line.slice(0, separator).trim()
    const value = line.slice(separator + 1).trim()
    fields.set(key, value)
    if (key === 'progress') {
      onProgress(parseProgressBlock(fields))
      fields = new Map()
    }
  }
}

/** Fraction done in 0..1, or undefined when the total is unknown. */
export function progressFraction(progress: FfmpegProgress, durationSeconds: number | undefined): number | undefined {
  if (progress.done) return 1
  if (!durationSeconds || progress.outTimeSeconds === undefined) return undefined
  return Math.min(1, Math.max(0, progress.outTimeSeconds / durationSeconds))
}
