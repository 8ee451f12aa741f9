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
