/**
 * POST /videos: upload a recording (multipart/form-data, field `file`, optional `title` before it).
 * The body is streamed to a spool file (hashing as it goes, never held in memory), put in the
 * uploads storage every worker reads, and a VOD job is submitted for it (queue or this process);
 * the answer is 202 with the new video's id, whose status GET /videos/ID shows from then on.
 * Uploading needs a bearer token (`serve --upload-token`): without one the route is not there.
 */
import {createHash, timingSafeEqual} from 'node:crypto'
import {createWriteStream} from 'node:fs'
import {stat} from 'node:fs/promises'
import path from 'node:path'
import {Transform} from 'node:stream'
import {pipeline} from 'node:stream/promises'

import multipart from '@fastify/multipart'

import {newId} from '../../catalog/ids.js'
import {writeJobStatus} from '../../catalog/videos.js'
import {ensureDir, removeQuietly} from '../../files.js'
import {buildVodJobSpec} from '../../jobs/job-spec.js'
import type {JobSubmitter} from '../../jobs/submit.js'
import type {X264Preset} from '../../media/encoder-settings.js'
import {isStorageUri, openStorage, type StorageConfig} from '../../storage/open.js'
import {packageLocation} from '../../storage/storage.js'
import type {ApiContext} from '../context.js'
import {HttpError} from '../http-errors.js'
import type {RouteModule} from '../type-provider.js'

export interface UploadSettings {
  /** Bearer token an uploader must send. */
  token: string
  submitter: JobSubmitter
  /** Storage URI where uploaded recordings are kept (shared with every worker). */
  storeTo: string
  /** Storage URI the packages are published to. */
  publishTo: string
  storageConfig?: StorageConfig
  /** Local folder the body is spooled to before it goes to storage. */
  spoolDir: string
  limitBytes: number
  /** The jobs' settings; left out, the job spec's defaults (job-spec.ts). */
  ladder?: string
  preset?: X264Preset
  segmentDurationSeconds?: number
}

const uploadBody = {
  type: 'object',
  properties: {
    title: {type: 'string', maxLength: 500, description: 'The video\'s title (send it before the file).'},
    file: {type: 'string', format: 'binary', description: 'The recording.'},
  },
  required: ['file'],
} as const

const accepted = {
  type: 'object',
  properties: {
    id: {type: 'string'},
    status: {type: 'string', enum: ['processing']},
    statusUrl: {type: 'string', description: 'GET it for the status and progress.'},
    job: {type: 'string', description: 'Where the job runs: a queue, or this process.'},
  },
} as const

function sameToken(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b)
}

export const uploadRoutes: RouteModule<{context: ApiContext; uploads: UploadSettings}> = async (app, {context, uploads}) => {
  await app.register(multipart, {limits: {fileSize: uploads.limitBytes, files: 1, fields: 4, fieldSize: 2000, parts: 6}})
  const storage = await openStorage(uploads.storeTo, uploads.storageConfig)
  const publishStorage = await openStorage(uploads.publishTo, uploads.storageConfig)
  await ensureDir(uploads.spoolDir)

  app.post('/videos', {
    schema: {
      summary: 'Upload a recording: it is stored, then transcoded, packaged and published by a job; 202 with the video id.',
      consumes: ['multipart/form-data'],
      security: [{bearerAuth: []}],
      body: uploadBody,
      response: {202: accepted, 400: {$ref: 'Error#'}, 401: {$ref: 'Error#'}, 413: {$ref: 'Error#'}, 503: {$ref: 'Error#'}},
    },
    // The body schema documents the form; the multipart parser, not the JSON validator, reads it.
    validatorCompiler: () => () => true,
  }, async (request, reply) => {
    const authorization = request.headers.authorization ?? ''
    const given = /^Bearer (.+)$/i.exec(authorization)?.[1]
    if (!given || !sameToken(given, uploads.token)) {
      throw new HttpError(401, 'unauthorized', 'Uploading needs the upload token: send "Authorization: Bearer TOKEN"')
    }

    if (!request.isMultipart()) throw new HttpError(415, 'unsupported_media_type', 'Send the recording as multipart/form-data with a "file" field')
    const part = await request.file()
    if (!part || part.fieldname !== 'file') throw new HttpError(400, 'bad_request', 'No recording: the form needs a "file" field')
    const titleField = part.fields.title as {value?: unknown} | undefined
    const title = typeof titleField?.value === 'string' && titleField.value.trim() !== '' ? titleField.value.trim().slice(0, 500) : undefined
    const videoId = newId()
    const extension = /^\.[A-Za-z0-9]{1,8}$/.test(path.extname(part.filename ?? '')) ? path.extname(part.filename).toLowerCase() : '.bin'
    const spool = path.join(uploads.spoolDir, `${videoId}${extension}.part`)
    const hash = createHash('sha256')
    try {
      await pipeline(part.file, new Transform({
        transform(chunk: Buffer, _encoding, done) {
          hash.update(chunk)
          done(null, chunk)
        },
      }), createWriteStream(spool))
      if (part.file.truncated) throw new HttpError(413, 'payload_too_large', `The recording is larger than this server accepts (${uploads.limitBytes} bytes)`)
      const key = `${videoId}/source${extension}`
      const {size} = await stat(spool)
      await storage.putFile(key, spool, {contentType: part.mimetype || 'application/octet-stream', cacheControl: 'private, no-store', sha256: hash.digest('hex'), sizeBytes: size})
      const input = isStorageUri(storage.uri) && !storage.uri.startsWith('file://') ? `${storage.uri.replace(/\/$/, '')}/${key}` : path.join(path.resolve(uploads.storeTo.replace(/^file:\/\//, '')), key)
      const spec = buildVodJobSpec({
        input,
        videoId,
        title,
        to: uploads.publishTo,
        ladder: uploads.ladder,
        segmentDurationSeconds: uploads.segmentDurationSeconds,
        preset: uploads.preset,
      })
      // The video exists from now on: GET /videos/ID says processing until the job says otherwise.
      await writeJobStatus(context.catalog, {id: videoId, title: title ?? videoId, status: 'processing', packageLocation: packageLocation(publishStorage, videoId), progress: 0})
      await uploads.submitter.submit(spec)
    } finally {
      await removeQuietly(spool)
    }

    const statusUrl = `/videos/${videoId}`
    return reply.code(202).header('location', statusUrl).send({id: videoId, status: 'processing', statusUrl, job: uploads.submitter.where})
  })
}
