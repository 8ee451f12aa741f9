/**
 * Just enough ISO BMFF to cut a growing CMAF segment into its chunks: the top-level boxes of a
 * segment (`styp`, `prft`, `moof`, `mdat`), the decode time and duration of each `moof`'s track
 * run, and the timescale of an init segment. Pure functions over bytes; nothing here reads files.
 *
 * A chunk ("part" in LL-HLS) is everything from the end of the previous chunk to the end of an
 * `mdat`: the first chunk of a segment carries its `styp`, each chunk its `prft` and `moof`.
 */

export interface Fmp4Chunk {
  /** Byte offset of the chunk in its segment. */
  start: number
  /** Byte offset just past its `mdat`. */
  end: number
  /** Decode time of its first sample, in the track's timescale (`tfdt`). */
  decodeTime: number
  /** Sum of its samples' durations, in the track's timescale. */
  duration: number
  /** Whether its first sample is a sync sample (a key frame): a player can start there. */
  independent: boolean
  /** Wall-clock time of its first sample (ms since the epoch), from the `prft` before its `moof`. */
  wallClockMs?: number
}

/** NTP seconds at the Unix epoch. */
const NTP_UNIX_OFFSET = 2_208_988_800

/** The producer reference time box: an NTP time and the media time (track timescale) it belongs to. */
function readPrft(bytes: Uint8Array, box: Box): {ntpMs: number; mediaTime: number} {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const version = bytes[box.body] ?? 0
  const ntpSeconds = view.getUint32(box.body + 8)
  const ntpFraction = view.getUint32(box.body + 12)
  const mediaTime = version === 1 ? Number(view.getBigUint64(box.body + 16)) : view.getUint32(box.body + 16)
  return {ntpMs: (ntpSeconds - NTP_UNIX_OFFSET) * 1000 + (ntpFraction / 2 ** 32) * 1000, mediaTime}
}

interface Box {
  type: string
  start: number
  /** Offset of the payload (after the size, type and any 64-bit size). */
  body: number
  end: number
}

/** The box at `offset`, or undefined when its header or body is not all in `bytes` yet. */
function readBox(bytes: Uint8Array, offset: number, limit = bytes.length): Box | undefined {
  if (offset + 8 > limit) return undefined
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let size = view.getUint32(offset)
  const type = String.fromCharCode(bytes[offset + 4] ?? 0, bytes[offset + 5] ?? 0, bytes[offset + 6] ?? 0, bytes[offset + 7] ?? 0)
  let body = offset + 8
  if (size === 1) {
    if (offset + 16 > limit) return undefined
    size = Number(view.getBigUint64(offset + 8))
    body = offset + 16
  } else if (size === 0) {
    // "To the end of the file": a growing file has no end yet.
    return undefined
  }

  if (size < body - offset) throw new Fmp4Error(`a ${JSON.stringify(type)} box at byte ${offset} declares ${size} bytes, less than its own header`)
  if (offset + size > limit) return undefined
  return {type, start: offset, body, end: offset + size}
}

export class Fmp4Error extends Error {}

function children(bytes: Uint8Array, parent: Box): Box[] {
  const boxes: Box[] = []
  for (let offset = parent.body; offset < parent.end;) {
    const box = readBox(bytes, offset, parent.end)
    if (!box) throw new Fmp4Error(`a ${parent.type} box at byte ${parent.start} holds a truncated box at byte ${offset}`)
    boxes.push(box)
    offset = box.end
  }

  return boxes
}

interface TrackDefaults {
  sampleDuration?: number
  sampleFlags?: number
}

/** A sample is a sync sample when sample_is_non_sync_sample (bit 16 of the sample flags) is clear. */
const isSync = (flags: number) => (flags & 0x0001_0000) === 0

function readTraf(bytes: Uint8Array, traf: Box, trex: TrackDefaults): {decodeTime: number; duration: number; independent: boolean} {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let decodeTime = 0
  let defaults: TrackDefaults = {...trex}
  let duration = 0
  let independent: boolean | undefined
  for (const box of children(bytes, traf)) {
    const version = bytes[box.body] ?? 0
    const flags = view.getUint32(box.body) & 0xff_ffff
    if (box.type === 'tfdt') {
      decodeTime = version === 1 ? Number(view.getBigUint64(box.body + 4)) : view.getUint32(box.body + 4)
    } else if (box.type === 'tfhd') {
      let at = box.body + 8 // version+flags, track_ID
      if (flags & 0x01) at += 8 // base_data_offset
      if (flags & 0x02) at += 4 // sample_description_index
      if (flags & 0x08) {
        defaults = {...defaults, sampleDuration: view.getUint32(at)}
        at += 4
      }

      if (flags & 0x10) at += 4 // default_sample_size
      if (flags & 0x20) defaults = {...defaults, sampleFlags: view.getUint32(at)}
    } else if (box.type === 'trun') {
      const count = view.getUint32(box.body + 4)
      let at = box.body + 8
      if (flags & 0x01) at += 4 // data_offset
      let firstFlags: number | undefined
      if (flags & 0x04) {
        firstFlags = view.getUint32(at)
        at += 4
      }

      for (let sample = 0; sample < count; sample++) {
        let sampleFlags: number | undefined
        if (flags & 0x100) {
          duration += view.getUint32(at)
          at += 4
        } else {
          if (defaults.sampleDuration === undefined) throw new Fmp4Error('a track run has no sample durations and the track no default duration')
          duration += defaults.sampleDuration
        }

        if (flags & 0x200) at += 4 // sample_size
        if (flags & 0x400) {
          sampleFlags = view.getUint32(at)
          at += 4
        }

        if (flags & 0x800) at += 4 // composition time offset
        if (independent === undefined && sample === 0) {
          const first = firstFlags ?? sampleFlags ?? defaults.sampleFlags
          independent = first === undefined ? true : isSync(first)
        }
      }
    }
  }

  return {decodeTime, duration, independent: independent ?? true}
}

/**
 * The complete chunks of a (possibly still growing) segment from byte `from` on, where `from` is
 * 0 or the end of a chunk already found. Returns the chunks and the offset to continue from.
 */
export function scanChunks(bytes: Uint8Array, from: number, init: {timescale: number; trex?: TrackDefaults}): {chunks: Fmp4Chunk[]; next: number} {
  const chunks: Fmp4Chunk[] = []
  let chunkStart = from
  let moof: {decodeTime: number; duration: number; independent: boolean} | undefined
  let prft: {ntpMs: number; mediaTime: number} | undefined
  for (let offset = from; ;) {
    const box = readBox(bytes, offset)
    if (!box) break
    if (box.type === 'prft') {
      prft = readPrft(bytes, box)
    } else if (box.type === 'moof') {
      const traf = children(bytes, box).find((child) => child.type === 'traf')
      if (!traf) throw new Fmp4Error(`the moof at byte ${box.start} has no traf`)
      moof = readTraf(bytes, traf, init.trex ?? {})
    } else if (box.type === 'mdat') {
      if (!moof) throw new Fmp4Error(`the mdat at byte ${box.start} has no moof before it`)
      const wallClockMs = prft ? prft.ntpMs + ((moof.decodeTime - prft.mediaTime) / init.timescale) * 1000 : undefined
      chunks.push({start: chunkStart, end: box.end, ...moof, ...(wallClockMs === undefined ? {} : {wallClockMs})})
      chunkStart = box.end
      moof = undefined
      prft = undefined
    }

    offset = box.end
  }

  return {chunks, next: chunkStart}
}

/** The timescale and sample defaults of the (first) track of an init segment. */
export function readInit(bytes: Uint8Array): {timescale: number; trex: TrackDefaults} {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const top: Box[] = []
  for (let offset = 0; offset < bytes.length;) {
    const box = readBox(bytes, offset)
    if (!box) throw new Fmp4Error(`the init segment is truncated at byte ${offset}`)
    top.push(box)
    offset = box.end
  }

  const moov = top.find((box) => box.type === 'moov')
  if (!moov) throw new Fmp4Error('the init segment has no moov')
  const find = (parent: Box, type: string) => children(bytes, parent).find((box) => box.type === type)
  const trak = find(moov, 'trak')
  const mdia = trak && find(trak, 'mdia')
  const mdhd = mdia && find(mdia, 'mdhd')
  if (!mdhd) throw new Fmp4Error('the init segment has no trak/mdia/mdhd')
  const version = bytes[mdhd.body] ?? 0
  const timescale = view.getUint32(mdhd.body + (version === 1 ? 20 : 12))
  const mvex = find(moov, 'mvex')
  const trex = mvex && find(mvex, 'trex')
  // trex: version+flags, track_ID, default_sample_description_index, default_sample_duration, default_sample_size, default_sample_flags
  return {timescale, trex: trex ? {sampleDuration: view.getUint32(trex.body + 12), sampleFlags: view.getUint32(trex.body + 20)} : {}}
}
