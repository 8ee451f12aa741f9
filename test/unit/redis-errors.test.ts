/** Which Redis failures mean "the queue cannot be reached", and what the user then sees. */
import {describe, expect, it} from 'vitest'

import {ExitCode, ExternalError} from '../../src/lib/errors.js'
import {classifyRedisError, isRedisUnreachable, queueUnavailable} from '../../src/lib/jobs/redis-errors.js'

const URL_WITH_PASSWORD = 'redis://worker:s3cret@redis.internal:6379/2'

function systemError(code: string, message = `connect ${code} 10.0.0.1:6379`): Error {
  return Object.assign(new Error(message), {code, syscall: 'connect'})
}

/** ioredis's MaxRetriesPerRequestError, by its class name (as ioredis defines it). */
class MaxRetriesPerRequestError extends Error {
  override get name() {
    return 'MaxRetriesPerRequestError'
  }
}

describe('isRedisUnreachable', () => {
  it.each(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH'])('recognises %s by its code', (code) => {
    expect(isRedisUnreachable(systemError(code))).toBe(true)
  })

  it('recognises ioredis giving up on a command, by its error class', () => {
    expect(isRedisUnreachable(new MaxRetriesPerRequestError('Reached the max retries per request limit (which is 1).'))).toBe(true)
  })

  it('recognises the commands ioredis rejects on a closed connection', () => {
    expect(isRedisUnreachable(new Error('Connection is closed.'))).toBe(true)
    expect(isRedisUnreachable(new Error('Stream isn\'t writeable and enableOfflineQueue options is false'))).toBe(true)
  })

  it('looks inside an AggregateError (every address of a host refused) and through causes', () => {
    const aggregate = new AggregateError([systemError('ECONNREFUSED', 'connect ECONNREFUSED ::1:6379'), systemError('ECONNREFUSED')], '')
    expect(isRedisUnreachable(aggregate)).toBe(true)
    expect(isRedisUnreachable(new Error('enqueue failed', {cause: systemError('ETIMEDOUT')}))).toBe(true)
  })

  it('leaves every other failure alone, whatever its message says', () => {
    expect(isRedisUnreachable(new Error('ERR unknown command'))).toBe(false)
    expect(isRedisUnreachable(new Error('the network said ECONNREFUSED once'))).toBe(false)
    expect(isRedisUnreachable(Object.assign(new Error('no such file'), {code: 'ENOENT'}))).toBe(false)
    expect(isRedisUnreachable(undefined)).toBe(false)
    expect(isRedisUnreachable('ECONNREFUSED')).toBe(false)
  })
})

describe('classifyRedisError', () => {
  it('makes an unreachable Redis an external failure (exit 3) naming the URL without its password, with a hint', () => {
    const cause = systemError('ECONNREFUSED')
    const error = classifyRedisError(URL_WITH_PASSWORD, cause)
    expect(error).toBeInstanceOf(ExternalError)
    expect(error?.exitCode).toBe(ExitCode.external)
    expect(error?.retryable).toBe(true)
    expect(error?.message).toBe('The job queue at redis://***@redis.internal:6379/2 cannot be reached: connect ECONNREFUSED 10.0.0.1:6379')
    expect(error?.message).not.toContain('s3cret')
    expect(error?.hint).toMatch(/redis-cli -u URL ping/)
    expect(error?.cause).toBe(cause)
  })

  it('returns nothing for a failure that is not about reaching Redis', () => {
    expect(classifyRedisError(URL_WITH_PASSWORD, new Error('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBeUndefined()
  })

  it('names the inner failure of an AggregateError, whose own message is empty', () => {
    const aggregate = new AggregateError([systemError('ECONNREFUSED', 'connect ECONNREFUSED ::1:6379')], '')
    expect(queueUnavailable('redis://127.0.0.1:1', aggregate).message).toBe('The job queue at redis://127.0.0.1:1 cannot be reached: connect ECONNREFUSED ::1:6379')
  })
})
