/**
 * A rendition's real video bit rates, measured from its packets: the average over the whole file,
 * and the peak over one segment (one closed GOP: what HLS BANDWIDTH and DASH @bandwidth promise).
 * Recorded in renditions.json beside the ladder's nominal numbers.
 */
import {runProcess} from '../process.js'

export interface MeasuredBitrates {
  /** Video bits per second over the whole rendition, kbit/s. */
  averageKbps: number
  /** The highest video bit rate over one segment (a GOP), kbit/s; a short last one counts only when it is the only one. */
  peakKbps: number
}

export interface VideoPacket {
  seconds: number
  sizeBytes: number
  keyframe: boolean
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

/** Average and per-GOP peak from packets in decode order (each keyframe starts a GOP). Pure. */
export function summariseBitrates(packets: readonly VideoPacket[], durationSeconds: number): MeasuredBitrates {
  const gops: Array<{start: number; bytes: number}> = []
  let total = 0
  for (const packet of packets) {
    total += packet.sizeBytes
    if (packet.keyframe || gops.length === 0) gops.push({start: packet.seconds, bytes: 0})
    ;(gops.at(-1) as {bytes: number}).bytes += packet.sizeBytes
  }

  const rates = gops.map((gop, index) => {
    const end = gops[index + 1]?.start ?? durationSeconds
    return {whole: index < gops.length - 1, kbps: (gop.bytes * 8) / 1000 / Math.max(end - gop.start, 0.001)}
  })
  const whole = rates.filter((rate) => rate.whole)
  const counted = whole.length > 0 ? whole : rates
  return {
    averageKbps: Math.round((total * 8) / 1000 / Math.max(durationSeconds, 0.001)),
    peakKbps: Math.round(Math.max(0, ...counted.map((rate) => rate.kbps))),
  }
}

export async function measureVideoBitrates(ffprobe: string, file: string, durationSeconds: number, signal?: AbortSignal): Promise<MeasuredBitrates> {
  const packets: VideoPacket[] = []
  await runProcess(ffprobe, buildPacketSizeProbeArgs(file), {
    signal,
    onStdoutLine: (line) => {
      const packet = parsePacketSizeLine(line)
      if (packet) packets.push(packet)
    },
  })
  return summariseBitrates(packets, durationSeconds)
}
