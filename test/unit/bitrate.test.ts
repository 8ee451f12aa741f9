/** Measured bit rates, the DASH @bandwidth rewrite and the quality log parser. */
import {describe, expect, it} from 'vitest'

import {parsePacketSizeLine, peakBitsPerSecond, summariseBitrates} from '../../src/lib/media/bitrate.js'
import {buildQualityArgs, parseQualityLog, rateAtQuality} from '../../src/lib/media/quality.js'
import {setMpdBandwidths} from '../../src/lib/package/mpd-bandwidth.js'

describe('summariseBitrates', () => {
  it('averages over the file and takes the peak over GOPs (a last one under half a GOP does not count)', () => {
    const packets = [
      {seconds: 0, sizeBytes: 100_000, keyframe: true},
      {seconds: 1, sizeBytes: 25_000, keyframe: false},
      {seconds: 2, sizeBytes: 50_000, keyframe: true},
      {seconds: 3, sizeBytes: 50_000, keyframe: false},
      {seconds: 4, sizeBytes: 200_000, keyframe: true},
    ]
    // 425 kB over 4.5 s; GOPs of 125 kB and 100 kB over 2 s each: 500 and 400 kbit/s; the last (0.5 s) is left out.
    expect(summariseBitrates(packets, 4.5)).toEqual({averageKbps: 756, peakKbps: 500})
    // One GOP only: it counts.
    expect(summariseBitrates(packets.slice(0, 2), 2)).toEqual({averageKbps: 500, peakKbps: 500})
    // A last GOP of at least half the GOP counts: 1.5 s of 150 kB is 800 kbit/s.
    const longLast = [...packets.slice(0, 4), {seconds: 4, sizeBytes: 150_000, keyframe: true}]
    expect(summariseBitrates(longLast, 5.5).peakKbps).toBe(800)
    expect(summariseBitrates(longLast, 5.5, 4).peakKbps).toBe(500)
    expect(parsePacketSizeLine('2.000000,1234,K_')).toEqual({seconds: 2, sizeBytes: 1234, keyframe: true})
    expect(parsePacketSizeLine('N/A,12,__')).toBeUndefined()
  })
})

describe('peakBitsPerSecond (HLS BANDWIDTH, DASH @bandwidth)', () => {
  const second = (kbits: number, durationSeconds = 2) => ({sizeBytes: (kbits * 1000 * durationSeconds) / 8, durationSeconds})

  it('counts a whole last segment, even when it is the biggest', () => {
    expect(peakBitsPerSecond([second(500), second(400), second(900)], 2)).toBe(900_000)
  })

  it('counts a last segment of at least half the target duration', () => {
    expect(peakBitsPerSecond([second(500), second(800, 1)], 2)).toBe(800_000)
  })

  it('leaves out a last segment shorter than half the target (0.3 s of a 2 s target)', () => {
    expect(peakBitsPerSecond([second(500), second(400), second(3000, 0.3)], 2)).toBe(500_000)
  })

  it('still gives a number for a single short segment, and 0 for none', () => {
    expect(peakBitsPerSecond([second(700, 0.3)], 2)).toBeCloseTo(700_000)
    expect(peakBitsPerSecond([], 2)).toBe(0)
  })
})

describe('setMpdBandwidths', () => {
  it('replaces only the bandwidth of the representations it is given', () => {
    const mpd = '<AdaptationSet>\n<Representation id="0" mimeType="video/mp4" bandwidth="933727" width="640">\n<Representation id="1" bandwidth="1">\n<Representation id="2" mimeType="audio/mp4">\n</AdaptationSet>'
    const out = setMpdBandwidths(mpd, new Map([['0', 1_167_000.2], ['2', 131_000]]))
    expect(out).toContain('<Representation id="0" mimeType="video/mp4" bandwidth="1167001" width="640">')
    expect(out).toContain('<Representation id="1" bandwidth="1">')
    expect(out).toContain('<Representation id="2" mimeType="audio/mp4" bandwidth="131000">')
  })
})

describe('quality', () => {
  it('compares the rendition with the source scaled to its size by lanczos, in one pass', () => {
    const args = buildQualityArgs({rendition: 'r.mp4', source: 's.mp4', width: 854, height: 480, vmaf: false})
    const graph = args[args.indexOf('-lavfi') + 1] ?? ''
    expect(graph).toContain('[1:v]scale=854:480:flags=lanczos')
    expect(graph).toContain('ssim')
    expect(graph).toContain('psnr')
    expect(graph).not.toContain('libvmaf')
    expect(buildQualityArgs({rendition: 'r.mp4', source: 's.mp4', width: 854, height: 480, vmaf: true})[args.indexOf('-lavfi') + 1]).toContain('libvmaf')
  })

  it('reads SSIM, PSNR and VMAF from ffmpeg\'s log', () => {
    const log = '[Parsed_ssim_4 @ 0x1] SSIM Y:0.990 (20.1) U:0.99 (21) V:0.99 (21) All:0.988800 (19.507)\n[Parsed_psnr_5 @ 0x2] PSNR y:40.1 u:45 v:45 average:39.830 min:30 max:50\n[libvmaf @ 0x3] VMAF score: 93.52'
    expect(parseQualityLog(log)).toEqual({ssim: 0.9888, ssimDb: 19.507, psnrDb: 39.83, vmaf: 93.52})
    expect(parseQualityLog('SSIM All:1.000000 (inf)\nPSNR average:inf').ssimDb).toBe(Number.POSITIVE_INFINITY)
    expect(() => parseQualityLog('nothing')).toThrow(/no SSIM or PSNR/)
  })
})

describe('bits at matched quality', () => {
  // A fixed ladder's curve: each doubling of the rate buys 2 dB of SSIM.
  const curve = [{kbps: 1000, quality: 14}, {kbps: 4000, quality: 18}, {kbps: 2000, quality: 16}]

  it('interpolates the log of the rate between the two points that bracket the quality', () => {
    expect(rateAtQuality(curve, 16)).toEqual({kbps: 2000, extrapolated: false})
    expect(rateAtQuality(curve, 17).kbps).toBeCloseTo(2000 * Math.SQRT2)
    expect(rateAtQuality(curve, 14.5).kbps).toBeCloseTo(1000 * 2 ** 0.25)
  })

  it('extrapolates along the nearest end beyond the measured range, and says so', () => {
    expect(rateAtQuality(curve, 20)).toEqual({kbps: expect.closeTo(8000), extrapolated: true})
    expect(rateAtQuality(curve, 12)).toEqual({kbps: expect.closeTo(500), extrapolated: true})
  })

  it('takes the cheaper point of a flat stretch, where more bits bought nothing', () => {
    const flat = [{kbps: 1000, quality: 15}, {kbps: 3000, quality: 15}]
    expect(rateAtQuality(flat, 15).kbps).toBe(1000)
    expect(rateAtQuality(flat, 14).kbps).toBe(1000)
    expect(() => rateAtQuality([{kbps: 1, quality: 1}], 1)).toThrow()
  })
})
