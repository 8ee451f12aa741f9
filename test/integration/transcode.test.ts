/**
 * `transcode` with real ffmpeg on tiny generated clips: ladders, audio handling, odd and portrait
 * sizes, keyframe placement, and bad inputs that must leave nothing behind.
 */
import {mkdir, readdir, readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {UserError} from '../../src/lib/errors.js'
import {avcCodecString} from '../../src/lib/media/codecs.js'
import {standardLadder} from '../../src/lib/media/ladder.js'
import type {RenditionsManifest} from '../../src/lib/media/renditions.js'
import {transcodeLadder} from '../../src/lib/media/transcode.js'
import {runCli, startCli} from '../support/cli.js'
import {waitFor} from '../support/wait.js'
import {keyframeTimes, makeClip, makeTempDir, probeStreams} from '../support/media.js'

let work: {dir: string; cleanup: () => Promise<void>}
const clips: Record<string, string> = {}

beforeAll(async () => {
  work = await makeTempDir('livectl-transcode-')
  const dir = work.dir
  ;[clips.sd, clips.portrait, clips.surround, clips.mono, clips.odd] = await Promise.all([
    makeClip(dir, 'sd.mp4', {width: 854, height: 480, durationSeconds: 5, audio: 'stereo'}),
    makeClip(dir, 'portrait.mp4', {width: 360, height: 640, durationSeconds: 3, audio: 'none'}),
    makeClip(dir, 'surround.mp4', {width: 320, height: 180, durationSeconds: 2, audio: '5.1'}),
    makeClip(dir, 'mono.mp4', {width: 320, height: 180, durationSeconds: 2, audio: 'mono'}),
    makeClip(dir, 'odd.mkv', {width: 321, height: 219, durationSeconds: 2, audio: 'stereo', videoCodec: 'ffv1'}),
  ])
})

afterAll(async () => {
  await work?.cleanup()
})

const transcode = (input: string, name: string, ladder: string[], segmentDurationSeconds = 2) =>
  transcodeLadder({input, outputDir: path.join(work.dir, name), rungs: standardLadder(ladder), segmentDurationSeconds, preset: 'ultrafast'}) as Promise<RenditionsManifest>

describe('transcode', () => {
  it('never upscales: a 480p source gives 480p and 144p, H.264 + stereo 48 kHz AAC, keyframes every 2 s', async () => {
    const fractions: number[] = []
    const manifest = (await transcodeLadder({
      input: clips.sd as string,
      outputDir: path.join(work.dir, 'out-sd'),
      rungs: standardLadder(['1080p', '720p', '480p', '144p']),
      segmentDurationSeconds: 2,
      preset: 'ultrafast',
      onProgress: (progress) => progress.fraction !== undefined && fractions.push(progress.fraction),
    })) as RenditionsManifest

    expect(manifest.renditions.map((rendition) => [rendition.name, rendition.width, rendition.height])).toEqual([
      ['480p', 854, 480],
      ['144p', 256, 144],
    ])
    expect(fractions.at(-1)).toBe(1)

    for (const rendition of manifest.renditions) {
      const file = path.join(work.dir, 'out-sd', rendition.file)
      const {streams, format} = await probeStreams(file)
      const video = streams.find((stream) => stream.codec_type === 'video')
      const audio = streams.find((stream) => stream.codec_type === 'audio')
      expect(video).toMatchObject({codec_name: 'h264', width: rendition.width, height: rendition.height})
      expect(audio).toMatchObject({codec_name: 'aac', channels: 2, sample_rate: '48000'})
      expect(Number(format.duration)).toBeCloseTo(5, 0)
      expect(await keyframeTimes(file)).toEqual([0, 2, 4])
      expect(rendition.codecs).toBe(`${avcCodecString(video?.profile, video?.level)},mp4a.40.2`)
    }

    const written = JSON.parse(await readFile(path.join(work.dir, 'out-sd', 'renditions.json'), 'utf8'))
    expect(written).toEqual(manifest)
    expect((await readdir(path.join(work.dir, 'out-sd'))).sort()).toEqual(['144p.mp4', '480p.mp4', 'renditions.json'])
  })

  it('keeps portrait sources portrait and gives a silent source silent renditions', async () => {
    const manifest = await transcode(clips.portrait as string, 'out-portrait', ['720p', '360p', '144p'], 1)
    expect(manifest.hasAudio).toBe(false)
    expect(manifest.renditions.map((rendition) => `${rendition.width}x${rendition.height}`)).toEqual(['360x640', '144x256'])
    for (const rendition of manifest.renditions) {
      const {streams} = await probeStreams(path.join(work.dir, 'out-portrait', rendition.file))
      expect(streams.map((stream) => stream.codec_type)).toEqual(['video'])
      expect(rendition.audioBitrateKbps).toBeUndefined()
      expect(rendition.codecs).not.toContain('mp4a')
      expect(await keyframeTimes(path.join(work.dir, 'out-portrait', rendition.file))).toEqual([0, 1, 2])
    }
  })

  it.each([
    ['5.1', 'surround'],
    ['mono', 'mono'],
  ])('turns %s audio into stereo', async (_layout, clip) => {
    const manifest = await transcode(clips[clip] as string, `out-${clip}`, ['144p'])
    const {streams} = await probeStreams(path.join(work.dir, `out-${clip}`, manifest.renditions[0]?.file as string))
    expect(streams.find((stream) => stream.codec_type === 'audio')).toMatchObject({channels: 2, sample_rate: '48000'})
  })

  // 240p is less than 10% above 219 lines: kept, at the source's own (even) size, never upscaled.
  it('handles odd source sizes with even output dimensions', async () => {
    const manifest = await transcode(clips.odd as string, 'out-odd', ['240p', '144p'])
    expect(manifest.source.video).toMatchObject({width: 321, height: 219})
    expect(manifest.renditions.map((rendition) => `${rendition.width}x${rendition.height}`)).toEqual(['320x218', '212x144'])
  })

  it('replaces its own earlier output but refuses a directory it did not write', async () => {
    await transcode(clips.mono as string, 'out-rerun', ['144p'])
    await transcode(clips.mono as string, 'out-rerun', ['144p'])
    expect((await readdir(path.join(work.dir, 'out-rerun'))).sort()).toEqual(['144p.mp4', 'renditions.json'])

    const foreign = path.join(work.dir, 'foreign')
    await mkdir(foreign)
    await writeFile(path.join(foreign, 'holiday.jpg'), 'precious')
    await expect(transcode(clips.mono as string, 'foreign', ['144p'])).rejects.toThrow(/not empty and was not written by livectl/)
    expect(await readdir(foreign)).toEqual(['holiday.jpg'])
  })

  it('rejects a segment duration out of range and an unknown preset', async () => {
    await expect(transcode(clips.mono as string, 'out-bad', ['144p'], 0)).rejects.toBeInstanceOf(UserError)
    await expect(
      transcodeLadder({input: clips.mono as string, outputDir: path.join(work.dir, 'out-bad'), rungs: standardLadder(['144p']), segmentDurationSeconds: 2, preset: 'ludicrous'}),
    ).rejects.toThrow(/Unknown x264 preset/)
  })
})

describe('transcode command', () => {
  it('prints the renditions manifest under --json and nothing else on stdout', async () => {
    const out = path.join(work.dir, 'cli-json')
    const result = await runCli(['transcode', clips.mono as string, '-o', out, '--ladder', '144p', '--preset', 'ultrafast', '--json'])
    expect(result.exitCode).toBe(0)
    const printed = JSON.parse(result.stdout)
    expect(printed).toEqual(JSON.parse(await readFile(path.join(out, 'renditions.json'), 'utf8')))
  })

  it('takes its flags from LIVECTL_* variables', async () => {
    const out = path.join(work.dir, 'cli-env')
    const result = await runCli(['transcode', clips.mono as string, '--json'], {
      env: {LIVECTL_OUTPUT: out, LIVECTL_LADDER: '144p', LIVECTL_PRESET: 'ultrafast', LIVECTL_SEGMENT_DURATION: '1'},
    })
    expect(result.exitCode).toBe(0)
    const printed = JSON.parse(result.stdout) as RenditionsManifest
    expect(printed).toMatchObject({segmentDurationSeconds: 1, preset: 'ultrafast', gopFrames: 30})
    expect(await keyframeTimes(path.join(out, '144p.mp4'))).toEqual([0, 1])
  })

  it('--dry-run prints the plan and the ffmpeg command and writes nothing', async () => {
    const out = path.join(work.dir, 'cli-dry')
    const result = await runCli(['transcode', clips.sd as string, '-o', out, '--dry-run', '--json'])
    expect(result.exitCode).toBe(0)
    const plan = JSON.parse(result.stdout)
    expect(plan.dryRun).toBe(true)
    expect(plan.plan.map((rendition: {name: string}) => rendition.name)).toEqual(['480p', '144p'])
    expect(plan.command).toContain('-filter_complex')
    await expect(readdir(out)).rejects.toThrow(/ENOENT/)
  })

  it('writes progress lines and a summary in plain mode (CI)', async () => {
    const result = await runCli(['transcode', clips.mono as string, '-o', path.join(work.dir, 'cli-plain'), '--ladder', '144p'])
    expect(result.exitCode).toBe(0)
    expect(result.stderr).toMatch(/Transcoding mono\.mp4\.\.\./)
    expect(result.stderr).toMatch(/Transcoding mono\.mp4: done in/)
    expect(result.stdout).toMatch(/^144p\s+256x144\s+avc1\.42c00c,mp4a\.40\.2\s+crf \d+\s+\d+ kbps avg, \d+ peak\s+144p\.mp4$/m)
    expect(result.stdout).toContain(`Renditions written to ${path.join(work.dir, 'cli-plain')}`)
  })

  describe('rejects bad input with a clear message, exit code 2 and no output', () => {
    const cases: Array<[string, () => Promise<string>, RegExp]> = [
      ['a missing file', async () => path.join(work.dir, 'nope.mp4'), /Input file not found/],
      ['a zero-byte file', async () => writeThen(path.join(work.dir, 'empty.mp4'), ''), /Input file is empty/],
      ['a text file', async () => writeThen(path.join(work.dir, 'notes.mp4'), 'hello, not a video\n'), /is not a media file ffprobe can read/],
      ['random bytes', async () => writeThen(path.join(work.dir, 'noise.bin'), Buffer.from(Array.from({length: 4096}, (_, index) => (index * 7919) % 251))), /is not a media file ffprobe can read/],
      // An audio-only file is a podcast (audio-only HLS/DASH); a file with neither video nor audio is refused.
      ['a subtitle file', async () => writeThen(path.join(work.dir, 'captions.srt'), '1\n00:00:00,000 --> 00:00:01,000\nHello\n'), /has no video or audio stream/],
    ]

    it.each(cases)('%s', async (_name, makeInput, message) => {
      const input = await makeInput()
      const out = path.join(work.dir, `bad-${path.basename(input)}`)
      const result = await runCli(['transcode', input, '-o', out])
      expect(result.exitCode).toBe(2)
      expect(result.stderr).toMatch(message)
      expect(result.stderr).not.toMatch(/\n\s+at /) // no stack trace
      await expect(readdir(out)).rejects.toThrow(/ENOENT/)
      expect((await readdir(work.dir)).filter((entry) => entry.includes('.partial-'))).toEqual([])
    })
  })

  it('stops ffmpeg on Ctrl-C, exits 130 and leaves no partial output', async () => {
    const long = await makeClip(work.dir, 'long.mp4', {width: 320, height: 180, durationSeconds: 60, audio: 'stereo'})
    const out = path.join(work.dir, 'cli-interrupted')
    const run = startCli(['transcode', long, '-o', out, '--ladder', '144p', '--preset', 'veryslow'])
    // Interrupt only once ffmpeg is writing: its output file exists in the staging directory.
    await waitFor(async () => {
      const staging = (await readdir(work.dir)).find((entry) => entry.startsWith('.cli-interrupted.partial-'))
      return staging !== undefined && (await readdir(path.join(work.dir, staging))).length > 0
    })
    run.child.kill('SIGINT')
    const result = await run.done
    expect(result.exitCode).toBe(130)
    expect(result.stderr).toMatch(/stopping cleanly/)
    await expect(readdir(out)).rejects.toThrow(/ENOENT/)
    expect((await readdir(work.dir)).filter((entry) => entry.includes('.partial-'))).toEqual([])
  })

  it('reports the error as JSON on stdout under --json', async () => {
    const result = await runCli(['transcode', path.join(work.dir, 'nope.mp4'), '--json'])
    expect(result.exitCode).toBe(2)
    expect(JSON.parse(result.stdout)).toMatchObject({error: {kind: 'user', exitCode: 2}})
  })
})

async function writeThen(file: string, content: string | Buffer): Promise<string> {
  await writeFile(file, content)
  return file
}
