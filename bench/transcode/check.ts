/**
 * Checks that the contenders of the transcode benchmark made the same renditions, so that the
 * timings compare like with like: same codecs, profiles, sizes, aspect, frame counts, keyframe
 * times and audio format in every file.
 */
import path from 'node:path'

import {messageOf} from '../support/report.js'
import {capture} from '../support/spawn.js'

type Description = Record<'video' | 'audio', Record<string, unknown> | undefined>

export interface Equivalence {
  ok: boolean
  problems: string[]
  /** What the reference contender's files hold, by file name. */
  reference: Record<string, Description>
}

/** The fields of ffprobe's JSON read here. */
interface ProbeOutput {
  streams?: Array<{
    index: number
    codec_type: string
    codec_name?: string
    profile?: string
    width?: number
    height?: number
    sample_aspect_ratio?: string
    nb_frames?: string
    sample_rate?: string
    channels?: number
  }>
  packets?: Array<{stream_index: number; pts_time: string; flags: string}>
}

const shorten = (value: unknown) => (String(value).length > 60 ? `${String(value).slice(0, 57)}...` : String(value))

/** What must match across contenders for one rendition file. */
async function describeFile(ffprobe: string, file: string): Promise<Description> {
  const output = await capture(ffprobe, [
    '-v', 'error',
    '-show_entries', 'stream=index,codec_type,codec_name,profile,width,height,sample_aspect_ratio,nb_frames,sample_rate,channels:packet=stream_index,pts_time,flags',
    '-of', 'json',
    file,
  ])
  const {streams = [], packets = []} = JSON.parse(output) as ProbeOutput
  const video = streams.find((stream) => stream.codec_type === 'video')
  const audio = streams.find((stream) => stream.codec_type === 'audio')
  const keyframeTimes = video
    ? packets.filter((packet) => packet.stream_index === video.index && packet.flags.startsWith('K')).map((packet) => Number(packet.pts_time).toFixed(3))
    : []
  return {
    video: video && {
      codec: video.codec_name,
      profile: video.profile,
      size: `${video.width}x${video.height}`,
      sampleAspectRatio: video.sample_aspect_ratio,
      frames: video.nb_frames,
      keyframeTimes: keyframeTimes.join(' '),
    },
    audio: audio && {codec: audio.codec_name, profile: audio.profile, sampleRate: audio.sample_rate, channels: audio.channels},
  }
}

/**
 * Compares every file in each contender's directory with the reference contender's.
 * Returns {ok, problems, reference} where reference describes the reference's files.
 */
export async function checkEquivalentOutputs(ffprobe: string, files: readonly string[], dirsById: Record<string, string>, referenceId: string): Promise<Equivalence> {
  const problems: string[] = []
  const reference: Record<string, Description> = {}
  for (const file of files) reference[file] = await describeFile(ffprobe, path.join(dirsById[referenceId] ?? '', file))
  for (const [id, dir] of Object.entries(dirsById)) {
    if (id === referenceId) continue
    for (const file of files) {
      let description: Description
      try {
        description = await describeFile(ffprobe, path.join(dir, file))
      } catch (error) {
        problems.push(`${id}/${file}: ${messageOf(error).split('\n').at(-1)}`)
        continue
      }

      for (const kind of ['video', 'audio'] as const) {
        for (const [field, expected] of Object.entries(reference[file]?.[kind] ?? {})) {
          const actual = description[kind]?.[field]
          if (actual !== expected) problems.push(`${id}/${file} ${kind} ${field}: ${shorten(actual)} (${referenceId}: ${shorten(expected)})`)
        }
      }
    }
  }

  return {ok: problems.length === 0, problems, reference}
}
