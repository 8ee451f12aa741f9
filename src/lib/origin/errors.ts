/** The origin's errors as responses, by class, in the API's JSON envelope. */
import {errorBody, type ErrorBody, toErrorResponse} from '../api/http-errors.js'
import {LlNotFoundError, LlTimeoutError, LlTooFarAheadError} from './ll-stream.js'
import {BlockingRequestError} from '../package/ll-hls.js'

export function originErrorResponse(error: unknown): {status: number; body: ErrorBody; headers: Record<string, string>; log?: 'warn' | 'error'} {
  if (error instanceof LlTooFarAheadError || error instanceof BlockingRequestError) return {status: 400, body: errorBody(400, 'bad_request', error.message), headers: {}}
  if (error instanceof LlNotFoundError) return {status: 404, body: errorBody(404, 'not_found', error.message), headers: {}}
  // The RFC's answer to a blocking request the server cannot satisfy in time: 503, and the player asks again.
  if (error instanceof LlTimeoutError) return {status: 503, body: errorBody(503, 'unavailable', error.message), headers: {'retry-after': '1'}}
  return toErrorResponse(error)
}
