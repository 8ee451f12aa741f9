/**
 * Generated test clips (lavfi testsrc2 and tones): the demo's source, and the fixtures of the
 * integration tests and benchmarks. The argv builder is pure.
 */
import {randomBytes} from 'node:crypto'
import {rename} from 'node:fs/promises'
import path from 'node:path'

import {ensureDir, removeQuietly} from '../files.js'
import {runProcess} from '../process.js'
import {mediaTools} from './tools.js'

export type TestAudio = 'stereo' | 'mono' | '5.1' | 'none'

export interface TestClipOptions {
  output: string
  width: number
  height: number
  durationSeconds: number
  frameRate?: number
  audio?: TestAudio
  /** h264 needs even sizes; ffv1 (lossless, in .mkv) takes any size. */
  videoCodec?: 'h264' | 'ffv1'
  /**
   * How the h264 is made. 'fast' (x264 ultrafast: CAVLC, no B-frames) decodes almost for free;
   * 'camera' (High profile, CABAC, B-frames, 8 Mbit/s, as cameras and OBS write) costs what a real
   * recording costs to decode, which is what benchmarks should measure.
   */
  encoding?: 'fast' | 'camera'
  /** Put the MP4 index at the front (as streaming-ready files have it). */
  faststart?: boolean
}

const CHANNEL_TONES: Record<Exclude<TestAudio, 'none'>, {layout: string; frequencies: number[]}> = {
  mono: {layout: 'mono', frequencies: [440]},
  stereo: {layout: 'stereo', frequencies: [440, 660]},
  '5.1': {layout: '5.1', frequencies: [440, 550, 660, 110, 770, 880]},
}

export function buildTestClipArgs(options: TestClipOptions): string[] {
  const rate = options.frameRate ?? 30
  const args = [
    '-hide_banner', '-nostdin', '-y', '-loglevel', 'error',
    // testsrc2 rounds odd sizes down to even; testsrc (RGB) keeps them, for ffv1's odd-size clips.
    '-f', 'lavfi', '-i', `${options.videoCodec === 'ffv1' ? 'testsrc' : 'testsrc2'}=size=${options.width}x${options.height}:rate=${rate}:duration=${options.durationSeconds}`,
  ]
  const audio = options.audio ?? 'stereo'
  if (audio !== 'none') {
    const {layout, frequencies} = CHANNEL_TONES[audio]
    const expressions = frequencies.map((frequency) => `0.2*sin(${frequency}*2*PI*t)`).join('|')
    args.push('-f', 'lavfi', '-i', `aevalsrc=${expressions}:channel_layout=${layout}:sample_rate=44100:duration=${options.durationSeconds}`)
  }

  if (options.videoCodec === 'ffv1') args.push('-c:v', 'ffv1')
  // A long GOP, as cameras write it: the transcode must place its own keyframes.
  else if (options.encoding === 'camera') args.push('-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high', '-b:v', '8000k', '-pix_fmt', 'yuv420p', '-g', '250')
  else args.push('-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '250')
  if (audio !== 'none') args.push('-c:a', 'aac', '-b:a', '128k')
  if (options.faststart) args.push('-movflags', '+faststart')
  args.push(options.output)
  return args
}

/** Writes the clip under a temporary name (same extension, so ffmpeg picks the container) and renames it. */
export async function generateTestClip(options: TestClipOptions & {signal?: AbortSignal}): Promise<string> {
  const {ffmpeg} = await mediaTools()
  const output = path.resolve(options.output)
  await ensureDir(path.dirname(output))
  const partial = path.join(path.dirname(output), `.partial-${randomBytes(4).toString('hex')}-${path.basename(output)}`)
  try {
    await runProcess(ffmpeg, buildTestClipArgs({...options, output: partial}), {signal: options.signal})
    await rename(partial, output)
  } catch (error) {
    await removeQuietly(partial)
    throw error
  }

  return output
}
