/** RFC 6381 codec strings for HLS CODECS and DASH @codecs. */

const AVC_PROFILE_PREFIX: Record<string, string> = {
  // profile_idc then constraint flags, as x264 writes them.
  'constrained baseline': '42c0',
  baseline: '4200',
  main: '4d40',
  extended: '5800',
  high: '6400',
}

/** "avc1.64001f" for High@3.1. */
export function avcCodecString(profile: string | undefined, level: number | undefined): string {
  const prefix = AVC_PROFILE_PREFIX[(profile ?? 'high').toLowerCase()] ?? '6400'
  const levelIdc = level && level > 0 ? level : 40
  return `avc1.${prefix}${levelIdc.toString(16).padStart(2, '0')}`
}

/** AAC-LC, the only audio livectl writes. */
export const AAC_LC_CODEC = 'mp4a.40.2'

/**
 * The codec string of a rendition before it is encoded (live): its profile, and the H.264 level
 * its size needs at up to 30 fps (x264 signals the same or lower, which players accept).
 */
export function plannedAvcCodecString(profile: 'baseline' | 'main' | 'high', width: number, height: number): string {
  const macroblocks = Math.ceil(width / 16) * Math.ceil(height / 16)
  const level = macroblocks <= 99 ? 11 : macroblocks <= 396 ? 21 : macroblocks <= 1620 ? 30 : macroblocks <= 3600 ? 31 : macroblocks <= 8192 ? 40 : 51
  return avcCodecString(profile === 'baseline' ? 'Constrained Baseline' : profile, level)
}
