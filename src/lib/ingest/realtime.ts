/**
 * Is the live encoder keeping up? ffmpeg's own `speed` averages over the whole run (idle waiting
 * included), so livectl measures media seconds encoded per wall second over a sliding window.
 */

export class RealtimeMeter {
  private readonly samples: Array<{wallMs: number; mediaSeconds: number}> = []
  /** When the output last moved on; undefined until it first does. */
  lastAdvanceMs: number | undefined

  constructor(private readonly windowMs = 5000) {}

  /** Records ffmpeg's output time; returns the rate over the window once a full window is known. */
  record(mediaSeconds: number, now = Date.now()): number | undefined {
    const last = this.samples.at(-1)
    if (mediaSeconds > (last?.mediaSeconds ?? 0)) this.lastAdvanceMs = now
    this.samples.push({wallMs: now, mediaSeconds})
    while (this.samples.length > 2 && (this.samples[1] as {wallMs: number}).wallMs <= now - this.windowMs) this.samples.shift()
    const first = this.samples[0] as {wallMs: number; mediaSeconds: number}
    if (now - first.wallMs < this.windowMs * 0.8) return undefined
    return (mediaSeconds - first.mediaSeconds) / ((now - first.wallMs) / 1000)
  }
}
