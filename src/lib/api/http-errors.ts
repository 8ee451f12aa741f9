/**
 * Every error a client sees is `{"error": {"status", "code", "message"}}`. Which status an error
 * gets is decided here, by its class, never by its message text.
 */
import {CommentConflictError} from '../catalog/comments.js'
import {isUnavailableError} from '../catalog/connection.js'
import {VideoNotFoundError} from '../catalog/videos.js'
import {UserError} from '../errors.js'

/** An answer a route decides on itself: 400, 403, 404... with its code and message. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

const STATUS_CODES: Record<number, string> = {
  400: 'bad_request',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  408: 'request_timeout',
  406: 'not_acceptable',
  409: 'conflict',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  416: 'range_not_satisfiable',
  429: 'too_many_requests',
  431: 'headers_too_large',
  500: 'internal',
  503: 'unavailable',
}

function codeForStatus(status: number): string {
  return STATUS_CODES[status] ?? (status >= 500 ? 'internal' : 'bad_request')
}

export interface ErrorBody {
  error: {status: number; code: string; message: string}
}

export function errorBody(status: number, code: string, message: string): ErrorBody {
  return {error: {status, code, message}}
}

export interface ErrorResponse {
  status: number
  body: ErrorBody
  headers: Record<string, string>
  /** How loudly the server should log it: a bug is an error, an unreachable database a warning. */
  log?: 'warn' | 'error'
}

/** What Fastify puts on the errors it raises itself (validation, body limits, bad JSON). */
interface FrameworkError {
  statusCode?: number
  validation?: unknown
  validationContext?: string
  message: string
}

const RETRY_AFTER_SECONDS = '5'

/** Maps anything a handler threw to the response a client gets. */
export function toErrorResponse(error: unknown): ErrorResponse {
  const respond = (status: number, message: string, code = codeForStatus(status)): ErrorResponse => ({status, body: errorBody(status, code, message), headers: {}})
  if (error instanceof HttpError) return respond(error.statusCode, error.message, error.code)
  if (error instanceof CommentConflictError) return respond(409, error.message)
  if (error instanceof VideoNotFoundError) return respond(404, error.message)
  if (error instanceof UserError) return respond(400, error.message)
  const framework = error as FrameworkError
  if (framework?.validation) {
    // "body/data must be..." reads better as "body.data must be...": keep Fastify's wording, named by part.
    const part = framework.validationContext ?? 'request'
    return respond(400, `${part}${framework.message.replace(/^(body|querystring|params|headers)/, '')}`)
  }

  if (isUnavailableError(error)) {
    return {
      status: 503,
      body: errorBody(503, 'unavailable', 'The catalog database is unavailable; try again shortly.'),
      headers: {'retry-after': RETRY_AFTER_SECONDS},
      log: 'warn',
    }
  }

  const status = framework?.statusCode
  if (typeof status === 'number' && status >= 400 && status < 500) return respond(status, framework.message)
  return {...respond(500, 'Internal server error'), log: 'error'}
}

/**
 * Errors Node's HTTP parser meets before Fastify sees a request (headers too large, a garbled
 * request line, a timeout): answered on the socket itself, in the same envelope.
 */
export function writeClientError(error: Error & {code?: string}, socket: import('node:stream').Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const [status, message] =
    error.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request headers are larger than this server accepts']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'The request took too long to arrive']
        : [400, 'The request is not valid HTTP']
  const body = JSON.stringify(errorBody(status, codeForStatus(status), message))
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
  }

  socket.destroy(error)
}

const STATUS_TEXT: Record<number, string> = {400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large'}
