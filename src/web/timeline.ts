/** Where comments sit on the timeline: which are shown at a playhead, and in what order. Pure. */

export interface TimedComment {
  id: string
  at: number | null
  created_at: string
}

/**
 * On a live video every comment shows as it arrives. On a VOD a comment shows once the playhead
 * has passed the moment it refers to (a replay of the chat); comments without a moment, and new
 * ones written while watching, show at once.
 */
export function isShown(comment: TimedComment, options: {live: boolean; playheadSeconds: number; fresh: boolean}): boolean {
  if (options.live || options.fresh || comment.at === null) return true
  return comment.at <= options.playheadSeconds + 0.05
}

/** Live: in the order written. VOD: along the timeline (comments without a moment first), then in the order written. */
export function compareComments(a: TimedComment, b: TimedComment, live: boolean): number {
  if (!live) {
    const atA = a.at ?? -1
    const atB = b.at ?? -1
    if (atA !== atB) return atA - atB
  }

  return a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

/** "1:05", "1:02:03". */
export function formatMediaTime(seconds: number): string {
  const whole = Math.max(0, Math.floor(seconds))
  const hours = Math.floor(whole / 3600)
  const minutes = Math.floor((whole % 3600) / 60)
  const rest = String(whole % 60).padStart(2, '0')
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${rest}` : `${minutes}:${rest}`
}
