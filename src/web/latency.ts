/**
 * The "N s behind live" line, read once a second from the player. Pure.
 *
 * Right after a rung switch a player's estimate can be wildly off for a moment: hls.js dates the
 * new rung's first fragment before it has aligned that playlist (seen: 21.5 and 23 s for one
 * reading while 2 s behind). A reading that jumps further than JUMP_SECONDS from the one shown is
 * held back until the next reading agrees with it; a real change (a seek into the DVR window, a
 * stall) shows one reading later, a glitch never shows.
 */
export const JUMP_SECONDS = 3

export interface LatencyLine {
  /** What the page shows, in seconds; undefined: nothing. */
  shown?: number
  /** A reading far from the shown one, waiting for the next to agree. */
  pending?: number
}

export function nextLatencyLine(line: LatencyLine, reading: number | undefined): LatencyLine {
  if (reading === undefined) return {}
  if (line.shown === undefined || Math.abs(reading - line.shown) <= JUMP_SECONDS) return {shown: reading}
  if (line.pending !== undefined && Math.abs(reading - line.pending) <= JUMP_SECONDS) return {shown: reading}
  return {shown: line.shown, pending: reading}
}

/**
 * Keeping a low-latency player at the live edge after a stall. hls.js catches up by playback rate
 * only while it is less than its target plus one target duration past its target latency; further
 * back it takes the viewer to be watching the DVR window and leaves them there. (Its
 * liveMaxLatencyDuration would jump back, but it also jumps a viewer who sought back on purpose.)
 * A stall of a few seconds (a rung switch that flushed the buffer on a busy machine, a slow
 * network) put a viewer there, and they stayed behind for the rest of the stream: the watch-page
 * test saw a steady 4.4 s behind live where the player otherwise sits near its target.
 *
 * So a player that was within catch-up range and is pushed out of it without the viewer seeking
 * or pausing goes back to the live edge; a viewer who sought back stays where they chose. Pure.
 */
export interface EdgeReading {
  /** The player's own latency estimate (hls.latency), seconds. */
  latency?: number
  /** The latency it aims for (hls.targetLatency), seconds. */
  target?: number
  /** The playlist's target duration, seconds. */
  targetDuration?: number
  /** The viewer sought or paused since the last reading. */
  viewerMoved: boolean
}

export interface EdgeDecision {
  /** Within the player's catch-up range now (or taken back to it). */
  atEdge: boolean
  /** Jump to the live sync position. */
  jump: boolean
}

/** How far behind hls.js still catches up by playback rate (its LatencyController's "live range"). */
export function catchUpLimitSeconds(target: number, targetDuration: number): number {
  return 2 * target + targetDuration
}

export function nextEdgeDecision(atEdge: boolean, reading: EdgeReading): EdgeDecision {
  const {latency, target, targetDuration} = reading
  if (latency === undefined || target === undefined || targetDuration === undefined || !(latency > 0)) return {atEdge, jump: false}
  const inRange = latency < catchUpLimitSeconds(target, targetDuration)
  if (reading.viewerMoved) return {atEdge: inRange, jump: false}
  if (atEdge && !inRange) return {atEdge: true, jump: true}
  return {atEdge: inRange, jump: false}
}
