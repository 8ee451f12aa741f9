import {describe, expect, it} from 'vitest'

import {decideDeinterlace, deinterlaceFilter, hdrTransfer, nominalFrameRate, planPicture, readIdetVerdict, reducedFrameRate, rungFrameRate, sourceColour} from '../../src/lib/media/picture.js'
import {buildIdetArgs, collectSizes, idetStartSeconds, parseIdetLine} from '../../src/lib/media/source-analysis.js'

describe('nominalFrameRate', () => {
  it('takes the stream\'s nominal rate for a phone recording of 30 fps with gaps, and calls it variable', () => {
    expect(nominalFrameRate('30/1', '108/5')).toEqual({rate: {ratio: '30', fps: 30}, variable: true})
  })

  it('keeps an awkward standard rate exact', () => {
    expect(nominalFrameRate('30000/1001', '30000/1001')).toEqual({rate: {ratio: '30000/1001', fps: 29.97}, variable: false})
    expect(nominalFrameRate('24000/1001', '2997/125')).toEqual({rate: {ratio: '24000/1001', fps: 23.976}, variable: false})
  })

  it('keeps a constant non-standard rate as it is', () => {
    expect(nominalFrameRate('15/1', '15/1')).toEqual({rate: {ratio: '15', fps: 15}, variable: false})
  })

  it('rounds the average up to a common rate when the nominal rate is a time base (WebRTC, MKV)', () => {
    expect(nominalFrameRate('1000/1', '2710/100')).toEqual({rate: {ratio: '30', fps: 30}, variable: true})
    expect(nominalFrameRate('90000/1', '30000/1001')).toEqual({rate: {ratio: '30000/1001', fps: 29.97}, variable: false})
  })

  it('takes the frame rate, not the field rate, of interlaced H.264 in MPEG-TS (50 beside an average of 25)', () => {
    expect(nominalFrameRate('50/1', '25/1')).toEqual({rate: {ratio: '25', fps: 25}, variable: false})
    expect(nominalFrameRate('60000/1001', '30000/1001')).toEqual({rate: {ratio: '30000/1001', fps: 29.97}, variable: false})
  })
})

describe('colour', () => {
  it('names PQ and HLG as HDR, and nothing else', () => {
    expect(hdrTransfer({transfer: 'smpte2084'})).toBe('pq')
    expect(hdrTransfer({transfer: 'arib-std-b67'})).toBe('hlg')
    expect(hdrTransfer({transfer: 'bt709'})).toBeUndefined()
    expect(hdrTransfer(undefined)).toBeUndefined()
  })

  it('fills an untagged source as players do: HD is BT.709, SD is BT.601, yuvj is full range', () => {
    expect(sourceColour({width: 1920, height: 1080})).toEqual({primaries: 'bt709', transfer: 'bt709', matrix: 'bt709', range: 'tv'})
    expect(sourceColour({width: 720, height: 576, pixelFormat: 'yuvj420p'})).toMatchObject({matrix: 'smpte170m', range: 'pc'})
    expect(sourceColour({width: 1920, height: 1080, colour: {primaries: 'bt2020', transfer: 'unknown'}})).toEqual({primaries: 'bt2020', transfer: 'bt2020-10', matrix: 'bt2020nc', range: 'tv'})
    expect(sourceColour({width: 321, height: 219, pixelFormat: 'bgr0', colour: {matrix: 'gbr'}})).toEqual({primaries: 'bt709', transfer: 'bt709', matrix: 'gbr', range: 'pc'})
  })
})

describe('interlacing', () => {
  it('trusts a stream that says it is interlaced, and --deinterlace over everything', () => {
    expect(decideDeinterlace('auto', 'tt', {})).toEqual({deinterlace: true, deinterlaceReason: 'field-order'})
    expect(decideDeinterlace('off', 'tt', {})).toEqual({deinterlace: false, deinterlaceReason: 'none'})
    expect(decideDeinterlace('on', 'progressive', {})).toEqual({deinterlace: true, deinterlaceReason: 'forced'})
    expect(decideDeinterlace('auto', 'progressive', {interlaced: {detected: true, interlacedFrames: 100, progressiveFrames: 0, topFieldFirst: true}})).toEqual({deinterlace: true, deinterlaceReason: 'idet', fieldParity: 'tff'})
    expect(decideDeinterlace('auto', undefined, {interlaced: {detected: true, interlacedFrames: 100, progressiveFrames: 0, topFieldFirst: false}})).toEqual({deinterlace: true, deinterlaceReason: 'idet', fieldParity: 'bff'})
    expect(decideDeinterlace('auto', undefined, {})).toEqual({deinterlace: false, deinterlaceReason: 'none'})
  })

  it('reads woven fields of one order as interlaced, and mixed or few as not', () => {
    expect(readIdetVerdict({tff: 100, bff: 0, progressive: 0})).toMatchObject({detected: true, topFieldFirst: true})
    expect(readIdetVerdict({tff: 2, bff: 90, progressive: 1})).toMatchObject({detected: true, topFieldFirst: false})
    expect(readIdetVerdict({tff: 61, bff: 34, progressive: 6}).detected).toBe(false)
    expect(readIdetVerdict({tff: 38, bff: 37, progressive: 25}).detected).toBe(false)
    expect(readIdetVerdict({tff: 10, bff: 0, progressive: 0}).detected).toBe(false)
  })

  it('deinterlaces in idet\'s field order where the frames say nothing, and in the frames\' own otherwise', () => {
    expect(deinterlaceFilter({fieldParity: 'bff'})).toBe('bwdif=mode=send_frame:parity=bff:deint=all')
    expect(deinterlaceFilter({})).toBe('bwdif=mode=send_frame:parity=auto:deint=all')
  })

  it('reads idet\'s multi-frame line, and looks a little way in', () => {
    expect(parseIdetLine('[Parsed_idet_0 @ 0x1] Multi frame detection: TFF:   100 BFF:     0 Progressive:     2 Undetermined:     1')).toEqual({tff: 100, bff: 0, progressive: 2})
    expect(parseIdetLine('[Parsed_idet_0 @ 0x1] Single frame detection: TFF: 1 BFF: 0 Progressive: 2')).toBeUndefined()
    expect(idetStartSeconds(5)).toBe(0)
    expect(idetStartSeconds(100)).toBe(10)
    expect(idetStartSeconds(7200)).toBe(60)
    expect(buildIdetArgs('/in.ts', 10)).toEqual(expect.arrayContaining(['-ss', '10.000', '-frames:v', '60', '-vf', 'idet=intl_thres=1.5']))
  })
})

describe('frame rates of the rungs', () => {
  it('halves a rate above 30 fps for small rungs when half still fills a segment with whole frames', () => {
    expect(reducedFrameRate({ratio: '60', fps: 60}, 2)).toEqual({ratio: '30', fps: 30})
    expect(reducedFrameRate({ratio: '50', fps: 50}, 2)).toEqual({ratio: '25', fps: 25})
    expect(reducedFrameRate({ratio: '50', fps: 50}, 0.5)).toBeUndefined()
    expect(reducedFrameRate({ratio: '30', fps: 30}, 2)).toBeUndefined()
  })

  it('runs 480p and below at the reduced rate, and the top rungs at the source\'s', () => {
    const plan = planPicture({picture: {width: 1920, height: 1080, displayWidth: 1920, displayHeight: 1080, frameRate: 60}, deinterlace: 'off', segmentDurationSeconds: 2})
    expect(rungFrameRate(plan, 1080).fps).toBe(60)
    expect(rungFrameRate(plan, 720).fps).toBe(60)
    expect(rungFrameRate(plan, 480).fps).toBe(30)
    expect(rungFrameRate(plan, 144).fps).toBe(30)
  })

  it('keeps one rate on every rung where asked (live)', () => {
    const plan = planPicture({picture: {width: 1920, height: 1080, displayWidth: 1920, displayHeight: 1080, frameRate: 60}, deinterlace: 'off', segmentDurationSeconds: 2, reduceFrameRate: false})
    expect(rungFrameRate(plan, 144).fps).toBe(60)
  })
})

describe('size changes', () => {
  it('collects the distinct keyframe sizes in order', () => {
    expect(collectSizes(['640,360', '640,360', '480,360', '640,360', 'N/A,', ''])).toEqual([{width: 640, height: 360}, {width: 480, height: 360}])
  })

  it('fits the pictures into the first display size only when the size changes', () => {
    const picture = {width: 1440, height: 1080, displayWidth: 1920, displayHeight: 1080, frameRate: 30}
    expect(planPicture({picture, deinterlace: 'off', segmentDurationSeconds: 2, analysis: {sizes: [{width: 1440, height: 1080}]}}).canvas).toBeUndefined()
    expect(planPicture({picture, deinterlace: 'off', segmentDurationSeconds: 2, analysis: {sizes: [{width: 1440, height: 1080}, {width: 1280, height: 720}]}}).canvas).toEqual({width: 1920, height: 1080})
  })
})
