/** A recording cut off short of what it declares: the warning transcode and the audio-only transcode give. */
import path from 'node:path'

/** Declared durations this much longer than what decodes mean a cut-off recording (a second, or 2 %). */
const TRUNCATION_TOLERANCE_SECONDS = 1
const TRUNCATION_TOLERANCE_FRACTION = 0.02

/** A warning when the source declared more than could be decoded (a recording cut off with its index at the front). */
export function truncationWarning(input: string, declaredSeconds: number | undefined, decodedSeconds: number): string | undefined {
  if (!declaredSeconds || !(declaredSeconds > 0)) return undefined
  const missing = declaredSeconds - decodedSeconds
  if (missing <= Math.max(TRUNCATION_TOLERANCE_SECONDS, declaredSeconds * TRUNCATION_TOLERANCE_FRACTION)) return undefined
  return `${path.basename(input)} declares ${declaredSeconds.toFixed(1)} s but only ${decodedSeconds.toFixed(1)} s could be decoded: the recording looks cut off. The renditions hold the ${decodedSeconds.toFixed(1)} s that are there.`
}
