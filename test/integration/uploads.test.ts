/**
 * POST /videos: a recording uploaded as multipart/form-data is stored, processed by a job (here
 * in the server's own process; through the queue it is the worker's job, tested in jobs.test.ts)
 * and ends ready and playable; a file ffprobe cannot read ends failed with the reason; uploads
 * need the token and stay under the size limit.
 */
import {readFile} from 'node:fs/promises'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {type RunningServer, startApiServer} from '../../src/lib/api/serve.js'
import {withCatalog} from '../../src/lib/catalog/connection.js'
import {findVideoWithPackage} from '../../src/lib/catalog/videos.js'
import {makeClip, makeTempDir} from '../support/media.js'
import {waitFor} from '../support/wait.js'

const TOKEN = 'upload-secret-for-tests'
let work: Awaited<ReturnType<typeof makeTempDir>>
let server: RunningServer
let clip: string

beforeAll(async () => {
  work = await makeTempDir('livectl-uploads-')
  clip = await makeClip(work.dir, 'lecture.mp4', {width: 320, height: 180, durationSeconds: 4, audio: 'stereo'})
  server = await startApiServer({
    dataDir: path.join(work.dir, 'data'), host: '127.0.0.1', port: 0, logLevel: 'silent',
    uploads: {token: TOKEN, limitBytes: 2 * 1024 * 1024, ladder: '144p', preset: 'ultrafast', segmentDurationSeconds: 1},
  })
})

afterAll(async () => {
  await server?.close()
  await work?.cleanup()
})

async function upload(body: FormData, token: string | null = TOKEN): Promise<Response> {
  return fetch(`${server.url}/videos`, {method: 'POST', body, headers: token ? {authorization: `Bearer ${token}`} : {}})
}

function form(bytes: Uint8Array, name: string, title?: string): FormData {
  const data = new FormData()
  if (title) data.append('title', title)
  data.append('file', new Blob([new Uint8Array(bytes)]), name)
  return data
}

async function video(id: string): Promise<{status: string; statusReason?: string; progress?: number; title: string; hlsUrl: string | null}> {
  return (await fetch(`${server.url}/videos/${id}`)).json() as Promise<{status: string; statusReason?: string; progress?: number; title: string; hlsUrl: string | null}>
}

async function packageLocationOf(id: string): Promise<string | undefined> {
  return withCatalog({dataDir: path.join(work.dir, 'data')}, async (catalog) => (await findVideoWithPackage(catalog, id))?.packageLocation)
}

describe('POST /videos', () => {
  it('accepts a recording (202 with the id), processes it and ends ready and playable', async () => {
    const response = await upload(form(await readFile(clip), 'lecture.mp4', 'Lecture 1'))
    expect(response.status).toBe(202)
    const accepted = (await response.json()) as {id: string; status: string; statusUrl: string}
    expect(accepted.status).toBe('processing')
    expect(response.headers.get('location')).toBe(`/videos/${accepted.id}`)
    // The upload and the job record the package's location in the same form (the storage's URI), from the start.
    const media = `file://${path.join(work.dir, 'data', 'media')}/${accepted.id}`
    expect(await packageLocationOf(accepted.id)).toBe(media)
    await waitFor(async () => (await video(accepted.id)).status === 'ready', {what: 'the upload to be published', timeoutMs: 60_000})
    expect(await packageLocationOf(accepted.id)).toBe(media)
    const ready = await video(accepted.id)
    expect(ready.title).toBe('Lecture 1')
    expect(ready.hlsUrl).toMatch(/master\.m3u8$/)
    const frames = (await (await fetch(`${server.url}/video/time?id=${accepted.id}&device=mobile&offset=1`)).json()) as Array<{type: string; url: string}>
    expect(frames.filter((frame) => frame.type === 'video').length).toBeGreaterThan(0)
    expect((await fetch(frames[0]?.url as string)).status).toBe(200)
  })

  it('ends a file ffprobe cannot read failed, with the reason', async () => {
    const response = await upload(form(new TextEncoder().encode('not a video at all'), 'notes.mp4'))
    expect(response.status).toBe(202)
    const {id} = (await response.json()) as {id: string}
    await waitFor(async () => (await video(id)).status === 'failed', {what: 'the job to fail'})
    expect((await video(id)).statusReason).toMatch(/not a media file ffprobe can read/)
  })

  it('needs the token, a file field, and stays under the size limit, answering in the error envelope', async () => {
    const bytes = await readFile(clip)
    const unauthorized = await upload(form(bytes, 'a.mp4'), null)
    expect(unauthorized.status).toBe(401)
    expect(((await unauthorized.json()) as {error: {code: string}}).error.code).toBe('unauthorized')
    expect((await upload(form(bytes, 'a.mp4'), 'wrong-token')).status).toBe(401)

    const noFile = new FormData()
    noFile.append('title', 'no file')
    const missing = await upload(noFile)
    expect(missing.status).toBe(400)

    const tooLarge = await upload(form(new Uint8Array(3 * 1024 * 1024), 'big.mp4'))
    expect(tooLarge.status).toBe(413)
    expect(((await tooLarge.json()) as {error: {message: string}}).error.message).toBeTruthy()
  })

  it('is described in /openapi.json as a multipart form', async () => {
    const spec = (await (await fetch(`${server.url}/openapi.json`)).json()) as {paths: Record<string, {post?: {requestBody?: {content?: Record<string, unknown>}}}>}
    expect(Object.keys(spec.paths['/videos']?.post?.requestBody?.content ?? {})).toEqual(['multipart/form-data'])
  })
})
