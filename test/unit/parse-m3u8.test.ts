/**
 * Names read from a playlist do not keep the playlist alive: the live publisher keeps every
 * segment's name for the whole stream while it parses a playlist that keeps growing (the soak
 * found the ingest process holding one copy of the playlist per segment).
 */
import v8 from 'node:v8'
import vm from 'node:vm'

import {describe, expect, it} from 'vitest'

import {parseM3u8} from '../../src/lib/package/verify.js'

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void

/** Heap in use after a full collection, in bytes. */
function heapUsed(): number {
  gc()
  return v8.getHeapStatistics().used_heap_size
}

describe('parseM3u8', () => {
  it('gives segment and init names that share nothing with the playlist text', () => {
    // 500 segments: about 40 KB of text per playlist.
    const body = Array.from({length: 500}, (_, index) => `#EXTINF:2.000000,\n#EXT-X-PROGRAM-DATE-TIME:2026-12-01T01:57:21.000+0000\nseg-0-${String(index + 1).padStart(5, '0')}.m4s`).join('\n')
    const kept: string[] = []
    const before = heapUsed()
    for (let round = 0; round < 300; round++) {
      // A distinct text each time, as a growing live playlist is.
      const listing = parseM3u8(`#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI="init-0.m4s"\n${body}\n#EXT-X-MEDIA-SEQUENCE:${round}\n`)
      kept.push(listing.segments.at(-1)?.uri as string, listing.segments[0]?.map?.uri as string)
    }

    const grown = heapUsed() - before
    expect(kept).toHaveLength(600)
    // 600 short names are a few tens of KB; holding on to the texts would be 300 x 40 KB = 12 MB.
    expect(grown).toBeLessThan(2 * 1024 * 1024)
  })
})
