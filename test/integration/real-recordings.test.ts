/**
 * The recordings people actually have (test/support/corpus.ts), through `transcode` and `segment`,
 * judged by what a viewer would see and hear: colour against the SDR picture an HDR clip was made
 * from, combing, frame times and keyframes, a flash against a beep, each channel's level.
 */
import {readdir, readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {standardLadder} from '../../src/lib/media/ladder.js'
import type {RenditionsManifest} from '../../src/lib/media/renditions.js'
import {transcodeLadder} from '../../src/lib/media/transcode.js'
import {segmentPackage} from '../../src/lib/package/segment.js'
import {type CorpusKind, corpusClip} from '../support/corpus.js'
import {framePresentationTimes, keyframeTimes, makeTempDir, probeStreams} from '../support/media.js'
import {beepSeconds, channelLevelsDb, combedFrames, flashSeconds, meanSaturation, psnrAgainst, shownPsnrAgainst, ssimAgainst, stripLuma} from '../support/viewer-checks.js'

let work: {dir: string; cleanup: () => Promise<void>}

beforeAll(async () => {
  work = await makeTempDir('livectl-real-')
})

afterAll(async () => {
  await work?.cleanup()
})

const clip = (kind: CorpusKind) => corpusClip(kind, work.dir)

const transcode = async (kind: CorpusKind, ladder: string[], options: {deinterlace?: 'auto' | 'on' | 'off'; name?: string} = {}) => {
  const outputDir = path.join(work.dir, `out-${options.name ?? kind}`)
  const manifest = (await transcodeLadder({input: await clip(kind), outputDir, rungs: standardLadder(ladder), segmentDurationSeconds: 2, preset: 'ultrafast', ...(options.deinterlace ? {deinterlace: options.deinterlace} : {})})) as RenditionsManifest
  return {manifest, outputDir, rung: (name: string) => path.join(outputDir, `${name}.mp4`)}
}

interface ColourTags {color_primaries?: string; color_transfer?: string; color_space?: string; color_range?: string}
const colourTags = async (file: string) => (await probeStreams(file)).streams.find((stream) => stream.codec_type === 'video') as unknown as ColourTags

describe('HDR recordings', () => {
  it.each([['hdr-pq' as const, 'pq'], ['hdr-hlg' as const, 'hlg']])('tone-maps %s to BT.709 SDR that keeps the colour of the picture it was made from', async (kind, transfer) => {
    const reference = await clip('sdr-reference')
    const {manifest, rung} = await transcode(kind, ['360p'])
    expect(manifest.picture).toMatchObject({toneMapped: transfer, colourConverted: true})

    // An 8-bit truncation keeps 0.22 (PQ) or 0.39 (HLG) of the saturation and looks washed out.
    const saturation = (await meanSaturation(rung('360p'))) / (await meanSaturation(reference))
    expect(saturation).toBeGreaterThan(0.7)
    expect(await ssimAgainst(rung('360p'), reference)).toBeGreaterThan(0.9)
    expect(await colourTags(rung('360p'))).toMatchObject({color_primaries: 'bt709', color_transfer: 'bt709', color_space: 'bt709', color_range: 'tv'})
  })
})

describe('SDR recordings', () => {
  it('keeps a BT.601 SD source\'s look: its SD rungs stay BT.601, tagged so', async () => {
    const reference = await clip('sd-reference')
    const {rung} = await transcode('sd-bt601', ['480p', '144p'])
    // Shown by its tags, the rung is the reference picture; read as BT.709 it would not be (24 dB).
    expect(await shownPsnrAgainst(rung('480p'), reference)).toBeGreaterThan(35)
    for (const name of ['480p', '144p']) {
      expect(await colourTags(rung(name))).toMatchObject({color_primaries: 'bt709', color_transfer: 'bt709', color_space: 'smpte170m', color_range: 'tv'})
    }
  })

  it('converts an HD source tagged BT.601 to BT.709 on its HD rung, so no player shifts its colour; its SD rungs stay BT.601', async () => {
    const reference = await clip('hd-reference')
    const {rung} = await transcode('hd-bt601', ['720p', '144p'])
    // The planes themselves are now BT.709: read as BT.709, as players assume for HD, they are the reference.
    const psnr = await psnrAgainst(rung('720p'), reference)
    expect(Math.min(psnr.y, psnr.u, psnr.v)).toBeGreaterThan(35)
    expect((await psnrAgainst(await clip('hd-bt601'), reference)).y).toBeLessThan(30)
    expect(await colourTags(rung('720p'))).toMatchObject({color_primaries: 'bt709', color_transfer: 'bt709', color_space: 'bt709', color_range: 'tv'})
    expect(await colourTags(rung('144p'))).toMatchObject({color_space: 'smpte170m', color_range: 'tv'})
  })
})

describe('interlaced recordings', () => {
  it('deinterlaces a broadcast TS by its field order: no combing in the rungs, as there is without', async () => {
    const {manifest, rung} = await transcode('interlaced-ts', ['480p', '144p'])
    expect(manifest.picture).toMatchObject({deinterlace: true, deinterlaceReason: 'field-order'})
    const combed = await combedFrames(rung('480p'))
    expect(combed.interlaced).toBeLessThan(0.05 * combed.frames)

    const {rung: woven} = await transcode('interlaced-ts', ['480p'], {deinterlace: 'off', name: 'interlaced-off'})
    const control = await combedFrames(woven('480p'))
    expect(control.interlaced).toBeGreaterThan(0.5 * control.frames)
  })

  it('finds woven fields in a stream labelled progressive with idet', async () => {
    const {manifest, rung} = await transcode('interlaced-mislabelled', ['480p'])
    expect(manifest.picture).toMatchObject({deinterlace: true, deinterlaceReason: 'idet'})
    const combed = await combedFrames(rung('480p'))
    expect(combed.interlaced).toBeLessThan(0.05 * combed.frames)
  })

  it('finds a bottom-first field order with idet, and deinterlaces with it (no combing left)', async () => {
    const {manifest, rung} = await transcode('interlaced-bff-mislabelled', ['480p'])
    expect(manifest.picture).toMatchObject({deinterlace: true, deinterlaceReason: 'idet', fieldParity: 'bff'})
    const combed = await combedFrames(rung('480p'))
    expect(combed.interlaced).toBeLessThan(0.05 * combed.frames)
  })

  it('leaves progressive recordings alone', async () => {
    const {manifest} = await transcode('vfr-phone', ['144p'], {name: 'progressive'})
    expect(manifest.picture).toMatchObject({deinterlace: false, deinterlaceReason: 'none'})
  })
})

describe('variable and high frame rates', () => {
  it('gives a VFR phone recording constant-rate rungs at its nominal 30 fps, its whole duration, keyframes on the segment grid', async () => {
    const source = await clip('vfr-phone')
    const sourceTimes = await framePresentationTimes(source)
    const {manifest, rung, outputDir} = await transcode('vfr-phone', ['360p', '144p'])
    expect(manifest.picture).toMatchObject({variableFrameRate: true, frameRate: {fps: 30}})
    for (const name of ['360p', '144p']) {
      const times = await framePresentationTimes(rung(name))
      const steps = times.slice(1).map((time, index) => time - (times[index] as number))
      expect(steps.every((step) => Math.abs(step - 1 / 30) < 1e-3)).toBe(true)
      expect(Math.abs((times.at(-1) as number) - (sourceTimes.at(-1) as number))).toBeLessThanOrEqual(1 / 30 + 1e-3)
      expect(await keyframeTimes(rung(name))).toEqual([0, 2, 4])
    }

    // segment checks the keyframes and the packaged duration.
    await segmentPackage({inputDir: outputDir, outputDir: `${outputDir}-pkg`, formats: ['hls', 'dash']})
  })

  it('keeps a VFR recording\'s flash within a frame of its beep', async () => {
    const source = await clip('vfr-av')
    expect(await flashSeconds(source)).toBeCloseTo(3, 2)
    const {rung} = await transcode('vfr-av', ['360p'])
    const flash = await flashSeconds(rung('360p')) as number
    expect(Math.abs(flash - 3)).toBeLessThanOrEqual(1 / 30)
    expect(Math.abs(flash - (await beepSeconds(rung('360p')) as number))).toBeLessThanOrEqual(1 / 30)
  })

  it('keeps 60 fps on the top rung and runs 480p and below at 30, all on one segment grid', async () => {
    const {manifest, rung, outputDir} = await transcode('hfr-60', ['720p', '480p', '144p'])
    expect(manifest.renditions.map((rendition) => [rendition.name, rendition.frameRate])).toEqual([['720p', 60], ['480p', 30], ['144p', 30]])
    for (const name of ['720p', '480p', '144p']) expect(await keyframeTimes(rung(name))).toEqual([0, 2])
    // segment refuses rungs whose keyframes disagree.
    await segmentPackage({inputDir: outputDir, outputDir: `${outputDir}-pkg`, formats: ['hls', 'dash']})

    // In chunks (each counted in the source's frames), the half-rate rungs get the same frames as in one process.
    const chunked = path.join(work.dir, 'out-hfr-chunked')
    await transcodeLadder({input: await clip('hfr-60'), outputDir: chunked, rungs: standardLadder(['720p', '480p', '144p']), segmentDurationSeconds: 2, preset: 'ultrafast', chunkSeconds: 2})
    for (const name of ['720p', '480p', '144p']) {
      expect(await framePresentationTimes(path.join(chunked, `${name}.mp4`))).toEqual(await framePresentationTimes(rung(name)))
      expect(await keyframeTimes(path.join(chunked, `${name}.mp4`))).toEqual([0, 2])
    }
  })
})

describe('changes part-way', () => {
  it('gives joined clips of two sizes one rung size throughout, the second letterboxed, and the whole duration of both sample rates', async () => {
    const {manifest, rung} = await transcode('size-change', ['360p'])
    expect(manifest.picture?.canvas).toEqual({width: 640, height: 360})
    const {streams, format} = await probeStreams(rung('360p'))
    expect(streams.find((stream) => stream.codec_type === 'video')).toMatchObject({width: 640, height: 360})
    expect(Math.abs(Number(format.duration) - 6)).toBeLessThan(0.2)
    const audio = (await probeStreams(rung('360p'))).streams.find((stream) => stream.codec_type === 'audio') as unknown as {duration?: string}
    expect(Math.abs(Number(audio.duration) - 6)).toBeLessThan(0.2)
    // 480x360 in 640x360: black bars of 80 pixels each side, the picture between.
    expect(await stripLuma(rung('360p'), 4.5, {x: 0, width: 0.1})).toBeLessThan(20)
    expect(await stripLuma(rung('360p'), 4.5, {x: 0.3, width: 0.4})).toBeGreaterThan(40)
    expect(await stripLuma(rung('360p'), 1.5, {x: 0, width: 0.1})).toBeGreaterThan(20)
  })

  it('falls back from per-title to capped-crf on such a recording, and says so', async () => {
    const manifest = (await transcodeLadder({input: await clip('size-change'), outputDir: path.join(work.dir, 'out-size-change-per-title'), rungs: standardLadder(['360p']), segmentDurationSeconds: 2, preset: 'ultrafast', rateControl: 'per-title'})) as RenditionsManifest
    expect(manifest.warnings?.join(' ')).toMatch(/picture size changes part-way/)
    expect(manifest.renditions[0]?.rateControl).toMatchObject({mode: 'crf', crf: 23})
  })
})

describe('odd shapes', () => {
  // Odd sizes: transcode.test.ts ("handles odd source sizes with even output dimensions").
  it.each([['anamorphic-dvd' as const, ['480p', '144p'], [[852, 480], [256, 144]]]])(
    'gives %s even square-pixel-aspect rungs at its display aspect', async (kind, ladder, sizes) => {
      const {manifest, rung} = await transcode(kind, ladder)
      expect(manifest.renditions.map((rendition) => [rendition.width, rendition.height])).toEqual(sizes)
      const source = manifest.source.video as {displayWidth: number; displayHeight: number}
      for (const name of ladder) {
        const video = (await probeStreams(rung(name))).streams.find((stream) => stream.codec_type === 'video') as unknown as {width: number; height: number; sample_aspect_ratio?: string}
        const [sarWidth = 1, sarHeight = 1] = (video.sample_aspect_ratio ?? '1:1').split(':').map(Number)
        expect(Math.abs((video.width * sarWidth) / sarHeight / video.height - source.displayWidth / source.displayHeight)).toBeLessThan(0.01)
      }
    },
  )
})

describe('audio', () => {
  it.each(['surround-5.1', 'surround-7.1'] as const)('downmixes %s to stereo with the centre channel in both sides at -3 dB', async (kind) => {
    const [centre] = (await channelLevelsDb(await clip(kind))).filter(Number.isFinite)
    const {rung} = await transcode(kind, ['144p'])
    const [left, right] = await channelLevelsDb(rung('144p'))
    expect(Math.abs((left as number) - ((centre as number) - 3))).toBeLessThan(1)
    expect(Math.abs((right as number) - ((centre as number) - 3))).toBeLessThan(1)
  })

  it('puts mono in both sides at its own level', async () => {
    const [mono] = await channelLevelsDb(await clip('mono'))
    const {rung} = await transcode('mono', ['144p'])
    const levels = await channelLevelsDb(rung('144p'))
    expect(levels).toHaveLength(2)
    for (const level of levels) expect(Math.abs(level - (mono as number))).toBeLessThan(1)
  })

  it('keeps a flash and its beep within a frame through transcode and segment, although the video track starts 0.5 s late', async () => {
    const source = await clip('av-offset')
    expect(await flashSeconds(source)).toBeCloseTo(1.5, 2)
    expect(await beepSeconds(source)).toBeCloseTo(1.5, 2)
    const frame = 1 / 30
    const {rung, outputDir} = await transcode('av-offset', ['360p', '144p'])
    for (const name of ['360p', '144p']) {
      const flash = await flashSeconds(rung(name)) as number
      expect(Math.abs(flash - 1.5)).toBeLessThanOrEqual(frame)
      expect(Math.abs(flash - (await beepSeconds(rung(name)) as number))).toBeLessThanOrEqual(frame)
    }

    // After packaging, as hls.js reads it: each track's init and segments, times from the fragments.
    const packageDir = `${outputDir}-pkg`
    await segmentPackage({inputDir: outputDir, outputDir: packageDir, formats: ['hls', 'dash']})
    const files = await readdir(packageDir)
    const track = async (id: number) => {
      const segments = files.filter((file) => file.startsWith(`seg-${id}-`)).sort()
      const joined = path.join(work.dir, `av-track-${id}.mp4`)
      await writeFile(joined, Buffer.concat(await Promise.all([`init-${id}.m4s`, ...segments].map((file) => readFile(path.join(packageDir, file))))))
      return joined
    }

    const audioTrack = files.filter((file) => file.startsWith('init-')).length - 1
    for (const video of [0, 1]) {
      const flash = await flashSeconds(await track(video), {ignoreEditList: true}) as number
      const beep = await beepSeconds(await track(audioTrack), {ignoreEditList: true}) as number
      expect(Math.abs(flash - beep)).toBeLessThanOrEqual(frame)
    }
  })
})
