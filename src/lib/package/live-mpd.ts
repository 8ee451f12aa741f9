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

/**
 * Low-latency DASH with a SegmentTimeline: a player learns of a segment from the timeline, so the
 * segment being written must be listed as soon as its first chunk is there (ffmpeg lists a segment
 * only once complete, and a player would then fetch it whole, a segment late). For each
 * Representation whose segment in progress `inProgress(id, listed)` confirms (`listed` is how many
 * segments its timeline holds), one more `<S>` of the last listed duration is appended.
 */
export function withSegmentsInProgress(mpd: string, inProgress: (representationId: string, listed: number) => boolean): string {
  return mpd.replace(/<Representation\b[^>]*\bid="([^"]+)"[\s\S]*?<\/Representation>/g, (representation, id: string) =>
    representation.replace(/(<SegmentTimeline>)([\s\S]*?)(\s*<\/SegmentTimeline>)/, (whole, open: string, entries: string, close: string) => {
      let listed = 0
      let lastDuration: string | undefined
      for (const [, attributes] of entries.matchAll(/<S\b([^>]*)\/>/g)) {
        lastDuration = /\bd="(\d+)"/.exec(attributes ?? '')?.[1]
        listed += 1 + Number(/\br="(\d+)"/.exec(attributes ?? '')?.[1] ?? 0)
      }

      if (lastDuration === undefined || !inProgress(id, listed)) return whole
      const indent = /\n(\s*)<S\b/.exec(entries)?.[1] ?? ''
      return `${open}${entries}\n${indent}<S d="${lastDuration}" />${close}`
    }),
  )
}

/** How often a player reloads the MPD (a low-latency timeline learns of each segment from a reload). */
export function withMinimumUpdatePeriod(mpd: string, seconds: number): string {
  const value = `minimumUpdatePeriod="PT${Number(seconds.toFixed(3))}S"`
  return /minimumUpdatePeriod="[^"]*"/.test(mpd) ? mpd.replace(/minimumUpdatePeriod="[^"]*"/, value) : mpd
}
