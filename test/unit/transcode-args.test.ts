import {describe, expect, it} from 'vitest'

import {planLadder, standardLadder} from '../../src/lib/media/ladder.js'
import {type PicturePlan, planPicture} from '../../src/lib/media/picture.js'
import {buildTranscodeArgs, buildVideoLadderChains, gopFrames, planScaling} from '../../src/lib/media/transcode-args.js'

const plan = planLadder({displayWidth: 1920, displayHeight: 1080}, standardLadder(['1080p', '720p', '144p']))
const outputs = ['/out/1080p.mp4', '/out/720p.mp4', '/out/144p.mp4']

/** The values following each occurrence of a flag. */
const valuesOf = (args: string[], flag: string) => args.flatMap((arg, index) => (arg === flag ? [args[index + 1]] : []))

describe('buildTranscodeArgs', () => {
  const args = buildTranscodeArgs({input: '/in/source.mov', renditions: plan, outputs, hasAudio: true, frameRate: 30, segmentDurationSeconds: 2, preset: 'veryfast', sourcePicture: {width: 1920, height: 1080}})

  it('reads the input once and splits the decoded picture, each rung scaled from the next larger one', () => {
    expect(valuesOf(args, '-i')).toEqual(['/in/source.mov'])
    const graph = valuesOf(args, '-filter_complex')[0]
    expect(graph).toContain('[0:v:0]split=2[v0in][v1in];')
    expect(graph).toContain(';[v0in]scale=1920:1080,format=yuv420p[v0];')
    expect(graph).toContain(';[v1in]scale=1280:720,format=yuv420p,split=2[v1][v2in];')
    expect(graph).toMatch(/;\[v2in\]scale=256:144,format=yuv420p\[v2\]$/)
  })

  it('converts audio to stereo 48 kHz once, from 0 with the picture, in a graph of its own, and gives each rung its own copy', () => {
    const graph = valuesOf(args, '-filter_complex')[1]
    expect(graph).toBe('[0:a:0]aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo,aresample=async=1:first_pts=0,asplit=3[a0][a1][a2]')
    expect(valuesOf(args, '-map')).toEqual(['[v0]', '[a0]', '[v1]', '[a1]', '[v2]', '[a2]'])
    expect(valuesOf(args, '-b:a')).toEqual(['128k', '128k', '64k'])
  })

  it('puts a closed-GOP keyframe exactly every segment in every rung', () => {
    expect(valuesOf(args, '-g')).toEqual(['60', '60', '60'])
    expect(valuesOf(args, '-keyint_min')).toEqual(['60', '60', '60'])
    expect(valuesOf(args, '-sc_threshold')).toEqual(['0', '0', '0'])
    expect(valuesOf(args, '-force_key_frames')).toEqual(Array(3).fill('expr:gte(t,n_forced*2)'))
    expect(valuesOf(args, '-x264-params')).toEqual(Array(3).fill('open-gop=0'))
  })

  it('encodes each rung with its bitrate, VBV buffer and profile, into its own MP4', () => {
    expect(valuesOf(args, '-b:v')).toEqual(['5000k', '2800k', '200k'])
    expect(valuesOf(args, '-maxrate:v')).toEqual(['5350k', '2996k', '214k'])
    expect(valuesOf(args, '-bufsize:v')).toEqual(['7500k', '4200k', '300k'])
    expect(valuesOf(args, '-profile:v')).toEqual(['high', 'high', 'baseline'])
    expect(valuesOf(args, '-preset')).toEqual(['veryfast', 'veryfast', 'veryfast'])
    expect(args.slice(-1)).toEqual(['/out/144p.mp4'])
    expect(args.filter((arg) => arg.endsWith('.mp4'))).toEqual(outputs)
  })

  it('reports progress on stdout instead of a stats line', () => {
    expect(args).toContain('-nostats')
    expect(valuesOf(args, '-progress')).toEqual(['pipe:1'])
  })

  it('maps no audio for a silent source', () => {
    const silent = buildTranscodeArgs({input: 'in.mp4', renditions: plan, outputs, hasAudio: false, frameRate: 25, segmentDurationSeconds: 1, preset: 'fast'})
    expect(valuesOf(silent, '-map')).toEqual(['[v0]', '[v1]', '[v2]'])
    expect(silent).not.toContain('-c:a')
    expect(valuesOf(silent, '-filter_complex')[0]).not.toContain('[0:a:0]')
    expect(valuesOf(silent, '-g')).toEqual(['25', '25', '25'])
  })

  it('needs one output per rendition', () => {
    expect(() => buildTranscodeArgs({input: 'in.mp4', renditions: plan, outputs: ['a.mp4'], hasAudio: false, frameRate: 25, segmentDurationSeconds: 1, preset: 'fast'})).toThrow()
  })

  it('passes an x264 tune when given', () => {
    const live = buildTranscodeArgs({input: 'in', renditions: plan.slice(0, 1), outputs: ['o.mp4'], hasAudio: false, frameRate: 30, segmentDurationSeconds: 2, preset: 'veryfast', tune: 'zerolatency'})
    expect(valuesOf(live, '-tune')).toEqual(['zerolatency'])
  })
})

describe('gopFrames', () => {
  it('rounds the frames per segment for fractional frame rates', () => {
    expect(gopFrames(29.97, 2)).toBe(60)
    expect(gopFrames(23.976, 4)).toBe(96)
    expect(gopFrames(30, 0.01)).toBe(1)
  })

  it('scales each rung from the next larger rung, with lanczos for a step of less than 2x', () => {
    const standard = planLadder({displayWidth: 1920, displayHeight: 1080}, standardLadder(['1080p', '720p', '480p', '144p']))
    const source = {width: 1920, height: 1080}
    // The 1080p rung is the source picture itself: 720p comes from the source, as it always did.
    expect(planScaling(standard, source)).toEqual([
      {from: undefined, lanczos: false},
      {from: undefined, lanczos: false},
      {from: 1, lanczos: true},
      {from: 2, lanczos: false},
    ])
    const uhd = planLadder({displayWidth: 3840, displayHeight: 2160}, standardLadder(['1080p', '720p', '480p', '144p']))
    expect(planScaling(uhd, {width: 3840, height: 2160}).map((step) => step.from)).toEqual([undefined, 0, 1, 2])
    // Order does not matter, and a portrait ladder compares both sides.
    const [tall, middle, small] = planLadder({displayWidth: 1080, displayHeight: 1920}, standardLadder(['1080p', '480p', '144p']))
    const portrait = [small, tall, middle].filter((rung) => rung !== undefined)
    expect(portrait.map((rung) => `${rung.width}x${rung.pixelHeight}`)).toEqual(['144x256', '1080x1920', '480x854'])
    expect(buildVideoLadderChains(portrait, {width: 1080, height: 1920}).join(';')).toBe(
      '[0:v:0]split=2[v1in][v2in];[v0in]scale=144:256,format=yuv420p[v0];[v1in]scale=1080:1920,format=yuv420p[v1];[v2in]scale=480:854,format=yuv420p,split=2[v2][v0in]',
    )
  })

  it('writes the scaling tree into the filter graph', () => {
    const standard = planLadder({displayWidth: 1920, displayHeight: 1080}, standardLadder(['1080p', '720p', '480p', '144p']))
    expect(buildVideoLadderChains(standard, {width: 1920, height: 1080}).join(';')).toBe(
      '[0:v:0]split=2[v0in][v1in];[v0in]scale=1920:1080,format=yuv420p[v0];[v1in]scale=1280:720,format=yuv420p,split=2[v1][v2in];' +
        '[v2in]scale=854:480:flags=lanczos,format=yuv420p,split=2[v2][v3in];[v3in]scale=256:144,format=yuv420p[v3]',
    )
  })

  it('builds a graph with a single rung', () => {
    expect(buildVideoLadderChains(plan.slice(0, 1)).join(';')).toBe('[0:v:0]split=1[v0in];[v0in]scale=1920:1080,format=yuv420p[v0]')
  })
})

describe('buildTranscodeArgs with a picture plan', () => {
  const base = {width: 1920, height: 1080, displayWidth: 1920, displayHeight: 1080, frameRate: 30}
  const argsFor = (picture: PicturePlan, renditions = plan) =>
    buildTranscodeArgs({input: '/in/s.ts', renditions, outputs: renditions.map((rendition) => `/out/${rendition.name}.mp4`), hasAudio: true, frameRate: picture.frameRate.fps, segmentDurationSeconds: 2, preset: 'veryfast', sourcePicture: {width: 1920, height: 1080}, picture})

  it('deinterlaces and sets the output rate before the split, and tags every rung BT.709', () => {
    const picture = planPicture({picture: {...base, fieldOrder: 'tt', frameRate: 25}, deinterlace: 'auto', segmentDurationSeconds: 2})
    const args = argsFor(picture)
    const graph = valuesOf(args, '-filter_complex')[0] ?? ''
    expect(graph.startsWith('[0:v:0]bwdif=mode=send_frame:parity=auto:deint=all,fps=25:start_time=0,split=2[v0in][v1in];')).toBe(true)
    expect(valuesOf(args, '-colorspace:v')).toEqual(['bt709', 'bt709', 'bt709'])
    expect(valuesOf(args, '-color_trc:v')).toEqual(['bt709', 'bt709', 'bt709'])
    expect(valuesOf(args, '-color_range:v')).toEqual(['tv', 'tv', 'tv'])
    expect(args).not.toContain('-reinit_filter:v')
  })

  it('keeps an SD source\'s BT.601 on its SD rungs, tagged so, and converts it on an HD rung and the rungs scaled from it', () => {
    const sd = planLadder({displayWidth: 720, displayHeight: 480}, standardLadder(['480p', '144p']))
    const sdPicture = planPicture({picture: {width: 720, height: 480, displayWidth: 720, displayHeight: 480, frameRate: 30, colour: {matrix: 'smpte170m'}}, deinterlace: 'off', segmentDurationSeconds: 2})
    const sdArgs = argsFor(sdPicture, sd)
    expect(valuesOf(sdArgs, '-filter_complex')[0]).not.toContain('color_matrix')
    expect(valuesOf(sdArgs, '-colorspace:v')).toEqual(['smpte170m', 'smpte170m'])

    const hdPicture = planPicture({picture: {...base, colour: {matrix: 'smpte170m'}}, deinterlace: 'off', segmentDurationSeconds: 2})
    const hdArgs = argsFor(hdPicture)
    const graph = valuesOf(hdArgs, '-filter_complex')[0]
    expect(graph).toContain('[v0in]scale=1920:1080:in_color_matrix=bt601:in_range=tv:out_color_matrix=bt709:out_range=tv,format=yuv420p[v0]')
    expect(graph).toContain('[v1in]scale=1280:720:in_color_matrix=bt601:in_range=tv:out_color_matrix=bt709:out_range=tv,format=yuv420p,split=2')
    expect(graph).toContain('[v2in]scale=256:144,format=yuv420p[v2]')
    expect(valuesOf(hdArgs, '-colorspace:v')).toEqual(['bt709', 'bt709', 'bt709'])
  })

  it('converts a full-range source to limited range', () => {
    const picture = planPicture({picture: {...base, pixelFormat: 'yuvj420p'}, deinterlace: 'off', segmentDurationSeconds: 2})
    expect(valuesOf(argsFor(picture), '-filter_complex')[0]).toContain('[v0in]scale=1920:1080:in_color_matrix=bt709:in_range=pc:out_color_matrix=bt709:out_range=tv')
  })

  it('tone-maps PQ through one colour LUT before the split', () => {
    const picture = planPicture({picture: {...base, colour: {primaries: 'bt2020', transfer: 'smpte2084', matrix: 'bt2020nc', range: 'tv'}}, deinterlace: 'off', segmentDurationSeconds: 2})
    expect(picture.toneMapped).toBe('pq')
    const graph = valuesOf(argsFor(picture), '-filter_complex')[0] ?? ''
    expect(graph).toContain('haldclutsrc=level=8:rate=1,trim=end_frame=1')
    expect(graph).toContain('tonemap=mobius:param=0.7')
    expect(graph).toContain('[picture]zscale=min=2020_ncl:rin=limited:m=gbr:r=full')
    expect(graph).toContain('haldclut=interp=tetrahedral')
    expect(graph).toContain('[sdr]split=2[v0in][v1in]')
    expect(graph.match(/haldclut=/g)).toHaveLength(1)
  })

  it('runs rungs of 480p and below at half a 60 fps source\'s rate, with a GOP of the same length in seconds', () => {
    const hfr = planLadder({displayWidth: 1280, displayHeight: 720}, standardLadder(['720p', '480p', '144p']))
    const picture = planPicture({picture: {...base, width: 1280, height: 720, displayWidth: 1280, displayHeight: 720, frameRate: 60, outputFrameRate: {ratio: '60', fps: 60}}, deinterlace: 'off', segmentDurationSeconds: 2})
    const args = argsFor(picture, hfr)
    expect(valuesOf(args, '-g')).toEqual(['120', '60', '60'])
    const graph = valuesOf(args, '-filter_complex')[0]
    expect(graph).toContain('format=yuv420p,fps=30')
    expect(graph).toMatch(/\[v0in\]scale=1280:720[^;]*format=yuv420p,split/)
  })

  it('fits every picture into a canvas, read without filter rebuilds, when the size changes part-way', () => {
    const picture = planPicture({picture: base, deinterlace: 'off', segmentDurationSeconds: 2, analysis: {sizes: [{width: 1920, height: 1080}, {width: 1440, height: 1080}]}})
    const args = argsFor(picture)
    expect(args.indexOf('-reinit_filter:v')).toBeLessThan(args.indexOf('-i'))
    const graph = valuesOf(args, '-filter_complex')[0]
    expect(graph).toContain('[0:v:0]scale=1920:1080:force_original_aspect_ratio=decrease:force_divisible_by=2,setsar=1[canvasfit]')
    expect(graph).toContain('overlay=x=(W-w)/2:y=(H-h)/2:eval=frame:shortest=1:format=auto[canvas]')
    expect(graph).toContain('[canvas]fps=30:start_time=0,split=')
  })
})
