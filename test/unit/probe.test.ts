import {describe, expect, it} from 'vitest'

import {UserError} from '../../src/lib/errors.js'
import {buildProbeArgs, isAudioOnly, parseMediaProbeOutput, parseProbeOutput, parseRatio, type ProbeOutput} from '../../src/lib/media/probe.js'

const video = (extra: Record<string, unknown> = {}) => ({codec_type: 'video', codec_name: 'h264', width: 1920, height: 1080, avg_frame_rate: '30000/1001', sample_aspect_ratio: '1:1', ...extra})
const audio = {codec_type: 'audio', codec_name: 'aac', channels: 6, channel_layout: '5.1', sample_rate: '44100'}
const probe = (streams: unknown[], format: Record<string, string> = {format_name: 'mov,mp4,m4a,3gp,3g2,mj2', duration: '12.5'}) => ({streams, format}) as ProbeOutput

describe('parseProbeOutput', () => {
  it('reads size, frame rate, duration and audio', () => {
    const facts = parseProbeOutput('in.mp4', probe([video(), audio]), 1000)
    expect(facts.video).toMatchObject({width: 1920, height: 1080, displayWidth: 1920, displayHeight: 1080, rotation: 0, frameRate: 29.97})
    expect(facts.audio).toEqual({codec: 'aac', channels: 6, channelLayout: '5.1', sampleRate: 44100})
    expect(facts.durationSeconds).toBe(12.5)
    expect(facts.sizeBytes).toBe(1000)
  })

  it('swaps the display size of a phone video with rotation metadata', () => {
    const fromMatrix = parseProbeOutput('phone.mov', probe([video({side_data_list: [{side_data_type: 'Display Matrix', rotation: -90}]})]), 1)
    expect(fromMatrix.video).toMatchObject({displayWidth: 1080, displayHeight: 1920, rotation: 90})
    const fromTag = parseProbeOutput('phone.mov', probe([video({tags: {rotate: '270'}})]), 1)
    expect(fromTag.video).toMatchObject({displayWidth: 1080, displayHeight: 1920, rotation: 270})
    const upsideDown = parseProbeOutput('phone.mov', probe([video({side_data_list: [{rotation: 180}]})]), 1)
    expect(upsideDown.video).toMatchObject({displayWidth: 1920, displayHeight: 1080, rotation: 180})
  })

  it('applies a non-square sample aspect ratio to the display width', () => {
    const anamorphic = parseProbeOutput('dvd.mpg', probe([video({width: 720, height: 480, sample_aspect_ratio: '32:27'})]), 1)
    expect(anamorphic.video).toMatchObject({displayWidth: 853, displayHeight: 480})
  })

  it('has no audio facts for a silent source and no duration when the container has none', () => {
    const facts = parseProbeOutput('raw.h264', probe([video()], {format_name: 'h264'}), 1)
    expect(facts.audio).toBeUndefined()
    expect(facts.durationSeconds).toBeUndefined()
  })

  it.each([
    ['audio only', probe([audio])],
    ['cover art only', probe([video({disposition: {attached_pic: 1}}), audio])],
    ['a still image', probe([video({codec_name: 'png'})], {format_name: 'png_pipe'})],
    ['text shown as ANSI art', probe([video({codec_name: 'ansi'})], {format_name: 'tty'})],
  ])('rejects %s as having no video stream', (_name, output) => {
    expect(() => parseProbeOutput('x', output, 1)).toThrow(UserError)
    expect(() => parseProbeOutput('x', output, 1)).toThrow(/has no video stream/)
  })

  it('asks ffprobe for JSON with formats and streams', () => {
    expect(buildProbeArgs('a b.mp4')).toEqual(['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', 'a b.mp4'])
  })
})

describe('parseMediaProbeOutput', () => {
  const mono = {codec_type: 'audio', codec_name: 'mp3', channels: 1, channel_layout: 'mono', sample_rate: '44100', duration: '6.034'}
  const mp3 = (streams: unknown[]) => probe(streams, {format_name: 'mp3', duration: '6.034286', bit_rate: '96000'})

  it('takes a recording with audio and no video as audio-only facts', () => {
    const facts = parseMediaProbeOutput('podcast.mp3', mp3([mono]), 72_000)
    expect(isAudioOnly(facts)).toBe(true)
    expect(facts).toEqual({
      path: 'podcast.mp3', formatName: 'mp3', durationSeconds: 6.034286, sizeBytes: 72_000, bitRate: 96_000,
      audio: {codec: 'mp3', channels: 1, channelLayout: 'mono', sampleRate: 44100},
    })
  })

  it('counts cover art (an attached picture) as no video', () => {
    const cover = video({codec_name: 'mjpeg', width: 600, height: 600, disposition: {attached_pic: 1}})
    const facts = parseMediaProbeOutput('episode.m4a', probe([mono, cover]), 1)
    expect(isAudioOnly(facts)).toBe(true)
    expect(facts.video).toBeUndefined()
    expect(facts.audio?.codec).toBe('mp3')
  })

  it('takes the duration from the audio stream when the container has none', () => {
    const facts = parseMediaProbeOutput('raw.aac', probe([{...mono, codec_name: 'aac'}], {format_name: 'aac'}), 1)
    expect(facts.durationSeconds).toBe(6.034)
  })

  it('reads a video with its audio as parseProbeOutput does', () => {
    const facts = parseMediaProbeOutput('in.mp4', probe([video(), audio]), 1000)
    expect(isAudioOnly(facts)).toBe(false)
    expect(facts).toEqual(parseProbeOutput('in.mp4', probe([video(), audio]), 1000))
  })

  it.each([
    ['no streams at all', probe([])],
    ['only a picture', probe([video({disposition: {attached_pic: 1}})])],
    ['a subtitle file', probe([{codec_type: 'subtitle', codec_name: 'subrip'}], {format_name: 'srt'})],
  ])('rejects %s as having neither video nor audio', (_name, output) => {
    expect(() => parseMediaProbeOutput('x', output, 1)).toThrow(UserError)
    expect(() => parseMediaProbeOutput('x', output, 1)).toThrow(/has no video or audio stream/)
  })

  it('still rejects a still image, which has a picture but no video to transcode', () => {
    expect(() => parseMediaProbeOutput('x.png', probe([video({codec_name: 'png'})], {format_name: 'png_pipe'}), 1)).toThrow(/has no video stream/)
  })
})

describe('parseRatio', () => {
  it('parses fractions and rejects 0/0', () => {
    expect(parseRatio('30000/1001')).toBeCloseTo(29.97, 2)
    expect(parseRatio('16:9')).toBeCloseTo(1.778, 3)
    expect(parseRatio('25')).toBe(25)
    expect(parseRatio('0/0')).toBeUndefined()
    expect(parseRatio('1/0')).toBeUndefined()
    expect(parseRatio(undefined)).toBeUndefined()
  })
})
