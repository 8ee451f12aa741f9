/**
 * A rendition's real video bit rates, measured from its packets: the average over the whole file,
 * and the peak over one segment (one closed GOP: what HLS BANDWIDTH and DASH @bandwidth promise).
 * Recorded in renditions.json beside the ladder's nominal numbers.
 */
import {runProcess} from '../process.js'

export interface MeasuredBitrates {
  /** Video bits per second over the whole rendition, kbit/s. */
  averageKbps: number
  /** The highest video bit rate over one segment (a GOP), kbit/s; see peakBitsPerSecond for the last one. */
  peakKbps: number
}

export interface VideoPacket {
  seconds: number
  sizeBytes: number
  keyframe: boolean
}

export interface TimedSpan {
  sizeBytes: number
  durationSeconds: number
}

/**
 * The peak bit rate over segments (or GOPs), as HLS BANDWIDTH and DASH @bandwidth promise it:
 * every segment counts, except a final one shorter than half the target duration, whose few
 * frames over a sliver of time say little about what a player must sustain. A lone segment
 * always counts. Pure; 0 for no segments.
 */
export function peakBitsPerSecond(segments: readonly TimedSpan[], targetSeconds: number): number {
  const last = segments.at(-1)
  const leaveOutLast = segments.length > 1 && last !== undefined && last.durationSeconds < targetSeconds / 2
  const counted = leaveOutLast ? segments.slice(0, -1) : segments
  return Math.max(0, ...counted.map((segment) => (segment.sizeBytes * 8) / Math.max(segment.durationSeconds, 0.001)))
}

/** ffprobe argv: every video packet's time, size and flags ("2.000000,1234,K_"), in decode order, without decoding. */
export function buildPacketSizeProbeArgs(file: string): string[] {
  return ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,size,flags', '-of', 'csv=p=0', file]
}

export function parsePacketSizeLine(line: string): VideoPacket | undefined {
  const [time, size, flags] = line.split(',')
  const seconds = Number(time)
  const sizeBytes = Number(size)
  if (!time || time === 'N/A' || !Number.isFinite(seconds) || !Number.isFinite(sizeBytes)) return undefined
  return {seconds, sizeBytes, keyframe: flags?.includes('K') ?? false}
}

/**
 * Average and per-GOP peak from packets in decode order (each keyframe starts a GOP). Pure.
 * `gopSeconds` is the GOP the rendition was encoded with; without it, the longest GOP before the
 * last stands for it (closed, fixed GOPs are all that long).
 */
export function summariseBitrates(packets: readonly VideoPacket[], durationSeconds: number, gopSeconds?: number): MeasuredBitrates {
  const gops: Array<{start: number; bytes: number}> = []
  let total = 0
  for (const packet of packets) {
    total += packet.sizeBytes
    if (packet.keyframe || gops.length === 0) gops.push({start: packet.seconds, bytes: 0})
    ;(gops.at(-1) as {bytes: number}).bytes += packet.sizeBytes
  }

  const spans = gops.map((gop, index) => ({sizeBytes: gop.bytes, durationSeconds: (gops[index + 1]?.start ?? durationSeconds) - gop.start}))
  const targetSeconds = gopSeconds ?? Math.max(0, ...spans.slice(0, -1).map((span) => span.durationSeconds))
  return {
    averageKbps: Math.round((total * 8) / 1000 / Math.max(durationSeconds, 0.001)),
    peakKbps: Math.round(peakBitsPerSecond(spans, targetSeconds) / 1000),
  }
}

export async function measureVideoBitrates(ffprobe: string, file: string, durationSeconds: number, signal?: AbortSignal, gopSeconds?: number): Promise<MeasuredBitrates> {
  const packets: VideoPacket[] = []
  await runProcess(ffprobe, buildPacketSizeProbeArgs(file), {
    signal,
    onStdoutLine: (line) => {
      const packet = parsePacketSizeLine(line)
      if (packet) packets.push(packet)
    },
  })
  return summariseBitrates(packets, durationSeconds, gopSeconds)
}
