/**
 * Before packaging without re-encoding, every rendition must have a keyframe at every segment
 * boundary, or the segments of different renditions would not line up (and players could not
 * switch between them).
 */

export interface KeyframeTrack {
  name: string
  /** Presentation times of keyframes, seconds, ascending. */
  keyframes: readonly number[]
  /** Time of the last video frame: boundaries after it start no segment. */
  lastFrameSeconds: number
  frameRate: number
}

/** ffprobe argv listing every video packet's time and flags, one "pts_time,flags" line each (no decoding). */
export function buildKeyframeProbeArgs(file: string): string[] {
  return ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0', file]
}

/** A packet line ("2.000000,K_") as its time and whether it is a keyframe; undefined without a time. */
export function parsePacketLine(line: string): {seconds: number; keyframe: boolean} | undefined {
  const [time, flags] = line.split(',')
  if (time === undefined || time === '' || time === 'N/A') return undefined
  const seconds = Number(time)
  return Number.isFinite(seconds) ? {seconds, keyframe: flags?.includes('K') ?? false} : undefined
}

function hasKeyframeNear(keyframes: readonly number[], time: number, tolerance: number): boolean {
  let low = 0
  let high = keyframes.length - 1
  while (low <= high) {
    const middle = (low + high) >> 1
    const value = keyframes[middle] as number
    if (Math.abs(value - time) <= tolerance) return true
    if (value < time) low = middle + 1
    else high = middle - 1
  }

  return false
}

/**
 * Returns a sentence describing the first misalignment, or undefined when every rendition has a
 * keyframe (within half a frame) at every segment boundary up to its last frame.
 */
export function findKeyframeMisalignment(tracks: readonly KeyframeTrack[], segmentDurationSeconds: number): string | undefined {
  for (const track of tracks) {
    const tolerance = Math.max(0.001, 0.5 / (track.frameRate || 25))
    const start = track.keyframes[0]
    if (start === undefined) return `${track.name} has no keyframes at all`
    for (let boundary = start + segmentDurationSeconds; boundary < track.lastFrameSeconds + tolerance; boundary += segmentDurationSeconds) {
      if (!hasKeyframeNear(track.keyframes, boundary, tolerance)) {
        return `${track.name} has no keyframe at ${boundary.toFixed(3)} s (segments of ${segmentDurationSeconds} s need one at every boundary)`
      }
    }
  }

  return undefined
}
