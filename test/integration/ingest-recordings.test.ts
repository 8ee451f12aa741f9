/**
 * Live pushes of the pictures real cameras send (test/support/corpus.ts's kinds, pushed over RTMP):
 * an HDR (PQ, 10-bit) push comes out as SDR BT.709 that keeps its colour, and an interlaced 25i
 * push comes out without combing, judged on the segments viewers get.
 */
import {readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {openCatalog} from '../../src/lib/catalog/connection.js'
import {createStreamKey} from '../../src/lib/ingest/keys.js'
import {type RunningIngest, startIngestServer} from '../../src/lib/ingest/server.js'
import {standardLadder} from '../../src/lib/media/ladder.js'
import {parseM3u8} from '../../src/lib/package/verify.js'
import {TO_HDR, TO_YUV} from '../support/corpus.js'
import {makeTempDir, probeStreams} from '../support/media.js'
import {freePort} from '../support/moto.js'
import {type Push, type PushOptions, startPush} from '../support/push.js'
import {waitFor} from '../support/wait.js'
import {combedFrames, meanSaturation} from '../support/viewer-checks.js'

let work: {dir: string; cleanup: () => Promise<void>}
let ingest: RunningIngest
let media: string
let port: number
let key: string
const pushes: Push[] = []

beforeAll(async () => {
  work = await makeTempDir('livectl-ingest-real-')
  const dataDir = path.join(work.dir, 'data')
  media = path.join(work.dir, 'media')
  const catalog = await openCatalog({dataDir})
  key = (await createStreamKey(catalog, 'camera')).key
  await catalog.close()
  port = await freePort()
  ingest = await startIngestServer({
    dataDir, host: '127.0.0.1', rtmpPort: port, to: media, rungs: standardLadder(['240p']),
    segmentDurationSeconds: 1, dvrWindowSeconds: 30, preset: 'ultrafast', reconnectGraceSeconds: 0,
    log: (line) => process.env.LIVECTL_TEST_LOG && console.log(new Date().toISOString(), line),
  })
})

afterAll(async () => {
  for (const push of pushes) push.kill()
  await Promise.all(pushes.map((push) => push.done))
  await ingest?.close()
  await work?.cleanup()
})

/** Pushes, waits for three published segments of the top rung, and joins its init and segments into one file. */
async function pushAndCollect(name: string, options: PushOptions): Promise<string> {
  const push = startPush(`rtmp://127.0.0.1:${port}/live/${key}`, options)
  pushes.push(push)
  try {
    await waitFor(() => ingest.streams().length === 1, {what: 'the stream to be accepted'})
    const {videoId} = ingest.streams()[0] as {videoId: string}
    const dir = path.join(media, videoId)
    const playlist = path.join(dir, 'media_0.m3u8')
    const segments = async () => parseM3u8(await readFile(playlist, 'utf8').catch(() => '#EXTM3U')).segments
    await waitFor(async () => (await segments()).length >= 3, {what: 'three published segments', timeoutMs: 60_000})
    const listed = (await segments()).slice(0, 3)
    const files = [listed[0]?.map?.uri as string, ...listed.map((segment) => segment.uri)]
    const joined = path.join(work.dir, `${name}.mp4`)
    await writeFile(joined, Buffer.concat(await Promise.all(files.map((file) => readFile(path.join(dir, file))))))
    return joined
  } finally {
    push.stop()
    await push.done
    await waitFor(() => ingest.streams().length === 0, {what: 'the stream to end', timeoutMs: 60_000})
  }
}

describe('ingest of real cameras', () => {
  it('tone-maps an HDR (PQ, 10-bit) push to BT.709 SDR that keeps its colour', async () => {
    const joined = await pushAndCollect('hdr', {
      width: 426, height: 240, durationSeconds: 30,
      picture: {
        filter: `${TO_YUV('709')},${TO_HDR('smpte2084')}`,
        encoderArgs: ['-pix_fmt', 'yuv420p10le', '-profile:v', 'high10', '-color_primaries', 'bt2020', '-color_trc', 'smpte2084', '-colorspace', 'bt2020nc'],
      },
    })
    const video = (await probeStreams(joined)).streams.find((stream) => stream.codec_type === 'video') as unknown as Record<string, string>
    expect(video).toMatchObject({color_primaries: 'bt709', color_transfer: 'bt709', color_space: 'bt709'})
    // The same picture pushed as SDR: the tone-mapped push keeps most of its saturation (8-bit truncation keeps 0.22).
    const sdr = await pushAndCollect('sdr', {width: 426, height: 240, durationSeconds: 30, picture: {filter: TO_YUV('709'), encoderArgs: ['-pix_fmt', 'yuv420p']}})
    expect((await meanSaturation(joined)) / (await meanSaturation(sdr))).toBeGreaterThan(0.7)
  })

  it('deinterlaces a push whose stream says it is interlaced (25i)', async () => {
    const joined = await pushAndCollect('interlaced', {
      width: 426, height: 240, durationSeconds: 30, rate: 50,
      picture: {filter: 'tinterlace=mode=interleave_top,setfield=tff', encoderArgs: ['-pix_fmt', 'yuv420p', '-flags', '+ildct+ilme', '-x264-params', 'tff=1']},
    })
    const combed = await combedFrames(joined)
    expect(combed.frames).toBeGreaterThanOrEqual(50)
    expect(combed.interlaced).toBeLessThan(0.05 * combed.frames)
  })
})
