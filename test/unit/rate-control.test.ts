/** Rate control: the shared argument fragments, the modes' per-rung settings, and per-title's decision from probe results. */
import {describe, expect, it} from 'vitest'

import {UserError} from '../../src/lib/errors.js'
import {buildLiveArgs} from '../../src/lib/ingest/live-args.js'
import {buildProbeArgs, planProbe} from '../../src/lib/media/complexity-probe.js'
import {aacArgs, closedGopArgs, cmafOutputArgs, rateControlArgs} from '../../src/lib/media/ffmpeg-fragments.js'
import {planLadder, standardLadder} from '../../src/lib/media/ladder.js'
import {
  CAPPED_ANALYSIS,
  CAPPED_CRF,
  cappedAnalysis,
  cappedCrfRate,
  choosePerTitle,
  type ComplexityProbe,
  DEFAULT_RATE_CONTROL,
  fixedRate,
  parseRateControl,
  PER_TITLE_CRF_FLOOR,
  planRates,
  predictProbeBitrate,
  predictRungBitrate,
} from '../../src/lib/media/rate-control.js'
import {buildTranscodeArgs} from '../../src/lib/media/transcode-args.js'
import {buildPackageArgs} from '../../src/lib/package/package-args.js'

const SETTINGS = {segmentDurationSeconds: 2, preset: 'veryfast'}
const ladder = planLadder({displayWidth: 1920, displayHeight: 1080}, standardLadder(['1080p', '720p', '480p', '144p']))

/** Whether `block` appears in `args` as a contiguous run. */
function contains(args: readonly string[], block: readonly string[]): boolean {
  return args.some((_, start) => block.every((arg, offset) => args[start + offset] === arg))
}

describe('argument fragments', () => {
  it('closes every GOP at exactly one segment', () => {
    expect(closedGopArgs(30, 2)).toEqual(['-g', '60', '-keyint_min', '60', '-sc_threshold', '0', '-force_key_frames', 'expr:gte(t,n_forced*2)', '-x264-params', 'open-gop=0'])
    expect(closedGopArgs(25, 0.48).slice(0, 2)).toEqual(['-g', '12'])
  })

  it('states a rung\'s rate control for one output, or for video stream N of a shared output', () => {
    expect(rateControlArgs({mode: 'abr', bitrateKbps: 5000, maxRateKbps: 5350, bufferSizeKbps: 7500})).toEqual(['-b:v', '5000k', '-maxrate:v', '5350k', '-bufsize:v', '7500k'])
    expect(rateControlArgs({mode: 'crf', crf: 21, maxRateKbps: 5083, bufferSizeKbps: 5083}, 2)).toEqual(['-crf:v:2', '21', '-maxrate:v:2', '5083k', '-bufsize:v:2', '5083k'])
    expect(rateControlArgs({mode: 'crf', crf: 23, maxRateKbps: 171, bufferSizeKbps: 85, analysis: {trellis: 1, lookaheadFrames: 30}})).toEqual(['-crf:v', '23', '-maxrate:v', '171k', '-bufsize:v', '85k', '-trellis:v', '1', '-rc-lookahead:v', '30'])
    expect(rateControlArgs({mode: 'crf', crf: 23, maxRateKbps: 171, bufferSizeKbps: 85, analysis: {lookaheadFrames: 30}}, 1)).toEqual(['-crf:v:1', '23', '-maxrate:v:1', '171k', '-bufsize:v:1', '85k', '-rc-lookahead:v:1', '30'])
    expect(aacArgs(96, 'a')).toEqual(['-c:a', 'aac', '-b:a', '96k'])
  })

  it('writes one CMAF segment set for DASH and HLS, with or without audio', () => {
    const block = cmafOutputArgs({segmentDurationSeconds: 2, hasAudio: true, initSegmentName: 'init-$RepresentationID$.m4s', mediaSegmentName: 'seg.m4s'})
    expect(block).toEqual(expect.arrayContaining(['-f', 'dash', '-dash_segment_type', 'mp4', '-hls_playlist', '1', '-use_timeline', '1']))
    expect(block[block.indexOf('-adaptation_sets') + 1]).toBe('id=0,streams=v id=1,streams=a')
    expect(cmafOutputArgs({segmentDurationSeconds: 2, hasAudio: false, initSegmentName: 'i', mediaSegmentName: 'm'})).toContain('id=0,streams=v')
  })

  it('is what VOD, live and packaging are built from', () => {
    const vod = buildTranscodeArgs({input: 'in.mp4', renditions: ladder, outputs: ladder.map((rung) => `${rung.name}.mp4`), hasAudio: true, frameRate: 30, segmentDurationSeconds: 2, preset: 'veryfast'})
    const live = buildLiveArgs({inputUrl: 'rtmp://127.0.0.1/live/k', renditions: ladder, hasAudio: true, frameRate: 30, segmentDurationSeconds: 2, preset: 'veryfast', manifestPath: 'm.mpd', recordingPath: 'r.ts'})
    const gop = closedGopArgs(30, 2)
    expect(contains(vod, gop)).toBe(true)
    expect(contains(live, gop)).toBe(true)
    // Every VOD rung has the gop block and its rate; live states each rung's rate on the shared output.
    for (const [index, rung] of ladder.entries()) {
      expect(contains(vod, rateControlArgs(fixedRate(rung)))).toBe(true)
      expect(contains(live, rateControlArgs(fixedRate(rung), index))).toBe(true)
    }

    const cmaf = cmafOutputArgs({segmentDurationSeconds: 2, hasAudio: true, initSegmentName: 'init-$RepresentationID$.m4s', mediaSegmentName: 'seg-$RepresentationID$-$Number%05d$.m4s'})
    expect(contains(buildPackageArgs({inputs: ['a.mp4'], audioInput: 0, segmentDurationSeconds: 2, manifestPath: 'm.mpd'}), cmaf)).toBe(true)
    expect(contains(live, cmaf)).toBe(true)
    expect(contains(live, aacArgs(128, 'a'))).toBe(true)
  })

  it('takes each rung\'s rate control when given', () => {
    const rates = planRates('capped-crf', ladder, SETTINGS)
    const vod = buildTranscodeArgs({input: 'in.mp4', renditions: ladder, outputs: ladder.map((rung) => `${rung.name}.mp4`), hasAudio: false, frameRate: 30, segmentDurationSeconds: 2, preset: 'veryfast', rates})
    expect(vod.filter((arg) => arg === '-crf:v')).toHaveLength(4)
    expect(vod.filter((arg) => arg === '-trellis:v')).toHaveLength(4)
    expect(vod).not.toContain('-b:v')
  })
})

describe('rate control modes', () => {
  it('parses the flag, defaulting to capped-crf', () => {
    expect(parseRateControl(undefined)).toBe(DEFAULT_RATE_CONTROL)
    expect(DEFAULT_RATE_CONTROL).toBe('capped-crf')
    expect(parseRateControl('capped-crf')).toBe('capped-crf')
    expect(() => parseRateControl('vbr')).toThrow(UserError)
  })

  it('cbr-ish keeps the rung\'s fixed rate; the capped modes\' max rate plus buffer fit within the cap over one segment', () => {
    expect(fixedRate(ladder[0]!)).toEqual({mode: 'abr', bitrateKbps: 5000, maxRateKbps: 5350, bufferSizeKbps: 7500})
    // 5350 / 1.25 = 4280; a quarter of a 2-s segment at that rate = 2140 kbit.
    expect(cappedCrfRate(ladder[0]!, SETTINGS)).toEqual({mode: 'crf', crf: CAPPED_CRF, maxRateKbps: 4280, bufferSizeKbps: 2140, analysis: {trellis: 1, lookaheadFrames: 30}})
    expect(cappedCrfRate(ladder[0]!, {...SETTINGS, segmentDurationSeconds: 1}).bufferSizeKbps).toBe(1070)
    for (const segment of [0.5, 1, 2, 4, 6]) {
      for (const rung of ladder) {
        const rate = cappedCrfRate(rung, {...SETTINGS, segmentDurationSeconds: segment})
        // The most x264's VBV lets through in one segment: the max rate for the segment plus a full buffer.
        expect((rate.maxRateKbps * segment + rate.bufferSizeKbps) / segment).toBeLessThanOrEqual(rung.maxRateKbps)
      }
    }
  })

  it('raises the preset\'s analysis for the capped modes to trellis 1 and a 30-frame lookahead, never lowering it', () => {
    expect(cappedAnalysis('veryfast')).toEqual(CAPPED_ANALYSIS)
    expect(cappedAnalysis('faster')).toEqual({lookaheadFrames: 30})
    for (const preset of ['fast', 'medium', 'slow', 'slower', 'veryslow']) expect(cappedAnalysis(preset)).toBeUndefined()
    // ultrafast and superfast have no lookahead at all: left as fast as they are.
    expect(cappedAnalysis('ultrafast')).toBeUndefined()
    expect(cappedAnalysis('superfast')).toBeUndefined()
    expect(planRates('cbr-ish', ladder, SETTINGS).every((rate) => !('analysis' in rate))).toBe(true)
    const slow = buildTranscodeArgs({input: 'in.mp4', renditions: ladder, outputs: ladder.map((rung) => `${rung.name}.mp4`), hasAudio: false, frameRate: 30, segmentDurationSeconds: 2, preset: 'slow', rates: planRates('capped-crf', ladder, {...SETTINGS, preset: 'slow'})})
    expect(slow).not.toContain('-trellis:v')
    expect(slow).not.toContain('-rc-lookahead:v')
  })
})

/** A probe at 640x360 and 256x144 whose bit rate at CRF 18 is `rate` (halving every 4 CRF), `exponent` apart between sizes. */
function probeOf(rate: number, exponent = 0.75): ComplexityProbe {
  const small = rate / ((640 * 360) / (256 * 144)) ** exponent
  return {
    sizes: [
      {width: 640, height: 360, points: [{crf: 18, bitrateKbps: rate}, {crf: 26, bitrateKbps: rate / 4}]},
      {width: 256, height: 144, points: [{crf: 18, bitrateKbps: small}, {crf: 26, bitrateKbps: small / 4}]},
    ],
  }
}

describe('per-title', () => {
  it('predicts log-linearly between the probe\'s CRFs, and scales to a rung by the exponent the two sizes show', () => {
    const probe = probeOf(1000)
    expect(predictProbeBitrate(probe.sizes[0]!, 18)).toBeCloseTo(1000)
    expect(predictProbeBitrate(probe.sizes[0]!, 22)).toBeCloseTo(500)
    expect(predictProbeBitrate(probe.sizes[0]!, 30)).toBeCloseTo(125)
    // 1080p has 9x the pixels of 360p: 9^0.75 = 5.196.
    expect(predictRungBitrate(probe, ladder[0]!, 18)).toBeCloseTo(5196, -1)
    // Grain-like content that nearly vanishes when scaled down: the exponent is held to 1.2.
    expect(predictRungBitrate(probeOf(1000, 3), ladder[0]!, 18)).toBeCloseTo(1000 * 9 ** 1.2, -1)
  })

  it('gives easy content the floor CRF, hard content capped-crf\'s, and content in between the CRF whose prediction fits the rung\'s rate', () => {
    const easy = choosePerTitle(probeOf(100), ladder, SETTINGS)
    expect(easy.map((rate) => rate.mode === 'crf' && rate.crf)).toEqual(Array(4).fill(PER_TITLE_CRF_FLOOR))
    const hard = choosePerTitle(probeOf(20_000), ladder, SETTINGS)
    expect(hard.map((rate) => rate.mode === 'crf' && rate.crf)).toEqual(Array(4).fill(CAPPED_CRF))
    // 1000 kbit/s at CRF 18 in 360p: 1080p predicts 5196 at 18, under its 5000 at 19 (4620).
    const middle = choosePerTitle(probeOf(1000), ladder, SETTINGS)
    expect(middle[0]).toEqual({mode: 'crf', crf: 19, maxRateKbps: 4280, bufferSizeKbps: 2140, analysis: {trellis: 1, lookaheadFrames: 30}})
    // Every rung under its cap, whatever the content.
    for (const [index, rate] of [...easy, ...hard, ...middle].entries()) expect(rate.maxRateKbps).toBeLessThanOrEqual(ladder[index % 4]!.maxRateKbps)
  })
})

describe('the complexity probe', () => {
  it('samples four evenly spaced half-seconds of a long source (all of a short one) at 360p and 144p', () => {
    const plan = planProbe({durationSeconds: 100, width: 1920, height: 1080})
    expect(plan.stretches.map((stretch) => stretch.startSeconds)).toEqual([12.25, 37.25, 62.25, 87.25])
    expect(plan.sizes).toEqual([{width: 640, height: 360}, {width: 256, height: 144}])
    expect(planProbe({durationSeconds: 3, width: 1920, height: 1080}).stretches).toEqual([{startSeconds: 0, seconds: 3}])
    // A small source: one size, its own.
    expect(planProbe({durationSeconds: 3, width: 320, height: 180}).sizes).toEqual([{width: 320, height: 180}])
  })

  it('decodes once and encodes each size at each probe CRF with the transcode\'s GOP', () => {
    const plan = planProbe({durationSeconds: 100, width: 1920, height: 1080})
    const args = buildProbeArgs({input: 'in.mp4', plan, outputs: ['a', 'b', 'c', 'd'], preset: 'veryfast', frameRate: 30, segmentDurationSeconds: 2})
    expect(args.filter((arg) => arg === '-i')).toHaveLength(4)
    expect(args[args.indexOf('-filter_complex') + 1]).toContain('concat=n=4')
    expect(args.filter((arg, index) => args[index - 1] === '-crf')).toEqual(['18', '26', '18', '26'])
    expect(contains(args, closedGopArgs(30, 2))).toBe(true)
  })
})
