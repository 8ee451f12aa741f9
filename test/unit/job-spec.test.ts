/** The VOD job spec: its defaults, what it refuses, and job data read back from a queue. */
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {UserError} from '../../src/lib/errors.js'
import {buildVodJobSpec, parseVodJobSpec, VOD_JOB_DEFAULTS, videoIdFromInput} from '../../src/lib/jobs/job-spec.js'

describe('buildVodJobSpec', () => {
  it('fills in every default, the same for `run` and uploads', () => {
    expect(buildVodJobSpec({input: 's3://uploads/talk.mp4', videoId: 'talk', to: 's3://media/vod'})).toEqual({
      input: 's3://uploads/talk.mp4',
      videoId: 'talk',
      to: 's3://media/vod',
      ladder: '1080p,720p,480p,144p',
      segmentDurationSeconds: 2,
      preset: 'veryfast',
      rateControl: 'capped-crf',
      deinterlace: 'auto',
      formats: ['hls', 'dash'],
    })
  })

  it('names the video after its input when no id is given', () => {
    expect(buildVodJobSpec({input: '/rec/Keynote 2026.mov', to: '/media'}).videoId).toBe('keynote-2026')
    expect(videoIdFromInput('s3://uploads/day-1/Panel_A.mkv')).toBe('panel-a')
  })

  it('makes local paths absolute and leaves storage URIs alone', () => {
    const spec = buildVodJobSpec({input: 'talk.mp4', to: 'out/media'})
    expect(spec.input).toBe(path.resolve('talk.mp4'))
    expect(spec.to).toBe(path.resolve('out/media'))
    expect(buildVodJobSpec({input: 'hdfs://nn:9870/rec/a.mp4', to: 'file:///srv/media'})).toMatchObject({input: 'hdfs://nn:9870/rec/a.mp4', to: 'file:///srv/media'})
  })

  it('keeps what the caller chose, and leaves out what it left undefined', () => {
    const spec = buildVodJobSpec({
      input: '/a.mp4', to: '/m', title: undefined, ladder: '720p', segmentDurationSeconds: 4, preset: 'fast', rateControl: 'per-title',
      deinterlace: 'on', formats: ['hls'], chunkSeconds: 8, invalidate: {mode: 'cloudfront', distributionId: 'E2ABC', wait: undefined},
    })
    expect(spec).toMatchObject({ladder: '720p', segmentDurationSeconds: 4, preset: 'fast', rateControl: 'per-title', deinterlace: 'on', formats: ['hls'], chunkSeconds: 8})
    expect('title' in spec).toBe(false)
    expect(spec.invalidate).toEqual({mode: 'cloudfront', distributionId: 'E2ABC'})
  })

  it('cuts a title longer than the catalog holds (500 characters), as uploads do, instead of refusing the job', () => {
    expect(buildVodJobSpec({input: '/a.mp4', to: '/m', title: 'x'.repeat(501)}).title).toHaveLength(500)
    expect(parseVodJobSpec({input: '/a.mp4', videoId: 'a', to: '/m', title: 'y'.repeat(800)}, 'Job a').title).toHaveLength(500)
  })

  it('refuses bad settings as a user error naming the field', () => {
    const base = {input: '/a.mp4', to: '/m'}
    expect(() => buildVodJobSpec({...base, segmentDurationSeconds: Number.NaN})).toThrow(UserError)
    expect(() => buildVodJobSpec({...base, segmentDurationSeconds: 0.1})).toThrow(/segmentDurationSeconds must be >= 0.5/)
    expect(() => buildVodJobSpec({...base, chunkSeconds: 0})).toThrow(/chunkSeconds must be > 0/)
    expect(() => buildVodJobSpec({...base, videoId: '../etc'})).toThrow(/videoId must match pattern/)
    expect(() => buildVodJobSpec({...base, preset: 'warp' as 'fast'})).toThrow(/preset must be one of "ultrafast"/)
    expect(() => buildVodJobSpec({...base, formats: []})).toThrow(/formats must NOT have fewer than 1 items/)
  })
})

describe('parseVodJobSpec', () => {
  it('accepts a job enqueued by an earlier version, without the settings added since, and fills them in', () => {
    const data = {input: 's3://u/a.mp4', videoId: 'a', to: 's3://m', ladder: '720p', segmentDurationSeconds: 2, preset: 'veryfast'}
    expect(parseVodJobSpec(data, 'Job a')).toMatchObject({rateControl: VOD_JOB_DEFAULTS.rateControl, formats: ['hls', 'dash'], deinterlace: 'auto'})
    // The job's own data is left as it was.
    expect(data).not.toHaveProperty('rateControl')
  })

  it('refuses foreign job data, naming where it came from', () => {
    expect(() => parseVodJobSpec({videoId: 'a', to: 's3://m'}, 'Job a in the queue')).toThrow(/^Job a in the queue: the document must have required property 'input'$/)
    expect(() => parseVodJobSpec({input: 'a', videoId: 'a', to: 'b', colour: 'blue'}, 'Job a')).toThrow(/has an unknown property "colour"/)
    expect(() => parseVodJobSpec('not a spec', 'Job a')).toThrow(/Job a: the document must be object/)
    expect(() => parseVodJobSpec({input: 'a', videoId: 'a', to: 'b', segmentDurationSeconds: '2'}, 'Job a')).toThrow(/segmentDurationSeconds must be number/)
  })
})
