/** CMAF boxes assembled by hand, for tests of the chunk reader and the low-latency origin. */
import {Buffer} from 'node:buffer'

export function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload)
  const header = Buffer.alloc(8)
  header.writeUInt32BE(8 + body.length)
  header.write(type, 4, 'ascii')
  return Buffer.concat([header, body])
}

export const u32 = (...values: number[]): Buffer => {
  const buffer = Buffer.alloc(4 * values.length)
  values.forEach((value, index) => buffer.writeUInt32BE(value >>> 0, 4 * index))
  return buffer
}

export const u64 = (value: number): Buffer => {
  const buffer = Buffer.alloc(8)
  buffer.writeBigUInt64BE(BigInt(value))
  return buffer
}

export const NON_SYNC = 0x0001_0000
export const SYNC = 0x0200_0000

/** A chunk: prft (optional), moof with one traf, mdat of `bytes` bytes. */
export function chunk(options: {decodeTime: number; durations: number[]; firstFlags?: number; defaultDuration?: number; prft?: {ntpSeconds: number; fraction: number; mediaTime: number}; bytes?: number}): Buffer {
  const perSample = options.defaultDuration === undefined
  const tfhdFlags = perSample ? 0 : 0x08
  const tfhd = box('tfhd', u32(tfhdFlags, 1), ...(perSample ? [] : [u32(options.defaultDuration as number)]))
  const tfdt = box('tfdt', u32(0x0100_0000), u64(options.decodeTime))
  const trunFlags = 0x01 | 0x200 | (perSample ? 0x100 : 0) | (options.firstFlags === undefined ? 0 : 0x04)
  const samples = options.durations.map((duration) => (perSample ? u32(duration, 100) : u32(100)))
  const trun = box('trun', u32(trunFlags, options.durations.length, 0), ...(options.firstFlags === undefined ? [] : [u32(options.firstFlags)]), ...samples)
  const moof = box('moof', box('mfhd', u32(0, 1)), box('traf', tfhd, tfdt, trun))
  const mdat = box('mdat', Buffer.alloc(options.bytes ?? 100))
  const prft = options.prft ? [box('prft', u32(0x0100_0000, 1, options.prft.ntpSeconds, options.prft.fraction), u64(options.prft.mediaTime))] : []
  return Buffer.concat([...prft, moof, mdat])
}

export const styp = box('styp', Buffer.from('msdh'), u32(0), Buffer.from('msdhmsix'))

/** An init segment of one track with this timescale. */
export function initSegment(timescale: number): Buffer {
  const mdhd = box('mdhd', u32(0, 0, 0, timescale, 0, 0))
  const trex = box('trex', u32(0, 1, 1, 0, 0, 0))
  return Buffer.concat([box('ftyp', Buffer.from('iso6')), box('moov', box('mvhd', u32(0)), box('trak', box('tkhd', u32(0)), box('mdia', mdhd)), box('mvex', trex))])
}
