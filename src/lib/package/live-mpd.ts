/** Rewrites of the live encoder's MPD for delivery. Pure, on the MPD's text (ffmpeg writes it one attribute at a time, always the same way). */

/** The DVR window a player may seek back over. */
export function withTimeShiftBuffer(mpd: string, windowSeconds: number): string {
  const depth = `timeShiftBufferDepth="PT${windowSeconds}S"`
  return /timeShiftBufferDepth="[^"]*"/.test(mpd) ? mpd.replace(/timeShiftBufferDepth="[^"]*"/, depth) : mpd.replace(/<MPD\b/, `<MPD ${depth}`)
}

/**
 * Low-latency DASH: each segment may be fetched `offsetSeconds` before it is complete (its chunks
 * arrive by chunked transfer), on every SegmentTemplate that does not say so already. ffmpeg
 * writes the attribute with number templates only, not with a SegmentTimeline.
 */
export function withAvailabilityTimeOffset(mpd: string, offsetSeconds: number): string {
  const value = `availabilityTimeOffset="${Number(offsetSeconds.toFixed(3))}"`
  return mpd.replace(/<SegmentTemplate\b([^>]*)>/g, (whole, attributes: string) => (/availabilityTimeOffset=/.test(attributes) ? whole : `<SegmentTemplate ${value}${attributes}>`))
}
