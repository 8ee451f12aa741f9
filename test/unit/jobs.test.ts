/** The pure parts of VOD jobs: ids from inputs, input lists, the queue URL. */
import {mkdtemp, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {UserError} from '../../src/lib/errors.js'
import {assertDistinctIds, readInputList} from '../../src/lib/jobs/batch.js'
import {parseRedisUrl} from '../../src/lib/jobs/redis-url.js'
import {videoIdFromInput, type VodJobSpec} from '../../src/lib/jobs/job-spec.js'

describe('videoIdFromInput', () => {
  it('names a video after its file, as transcode names its output', () => {
    expect(videoIdFromInput('/rec/Keynote 2026.mov')).toBe('keynote-2026')
    expect(videoIdFromInput('talk.mp4')).toBe('talk')
    expect(videoIdFromInput('s3://uploads/day-1/Panel_A.mkv')).toBe('panel-a')
  })
})

describe('assertDistinctIds', () => {
  const job = (input: string, videoId: string) => ({input, videoId}) as VodJobSpec
  it('refuses two inputs that would be the same video, naming both', () => {
    expect(() => assertDistinctIds([job('a/talk.mp4', 'talk'), job('b/Talk.mov', 'talk')])).toThrow(/a\/talk\.mp4 and b\/Talk\.mov would both be video "talk"/)
    expect(() => assertDistinctIds([job('a.mp4', 'a'), job('b.mp4', 'b')])).not.toThrow()
  })
})

describe('readInputList', () => {
  it('reads one input per line, without blanks and # comments', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'livectl-list-'))
    const file = path.join(dir, 'list.txt')
    await writeFile(file, '# new recordings\na.mp4\r\n\n  b.mov  \n#c.mp4\ns3://bucket/c.mp4\n')
    expect(await readInputList(file)).toEqual(['a.mp4', 'b.mov', 's3://bucket/c.mp4'])
    await expect(readInputList(path.join(dir, 'missing.txt'))).rejects.toThrow(UserError)
  })
})

describe('parseRedisUrl', () => {
  it('reads host, port, credentials, database and TLS', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6380/3')).toMatchObject({host: '127.0.0.1', port: 6380, db: 3, maxRetriesPerRequest: 1})
    expect(parseRedisUrl('rediss://user:p%40ss@redis.internal')).toMatchObject({host: 'redis.internal', port: 6379, username: 'user', password: 'p@ss', tls: {}})
    // Workers block on Redis: BullMQ requires no per-request retry limit there.
    expect(parseRedisUrl('redis://127.0.0.1', {blocking: true}).maxRetriesPerRequest).toBeNull()
  })

  it('refuses what is not a Redis URL, as a user error', () => {
    expect(() => parseRedisUrl('127.0.0.1:6379')).toThrow(UserError)
    expect(() => parseRedisUrl('http://127.0.0.1:6379')).toThrow(/only redis:\/\/ and rediss:\/\//)
    expect(() => parseRedisUrl('redis://127.0.0.1/x')).toThrow(/Redis database "x"/)
  })

  it('gives up connecting after a few tries for commands, keeps trying for workers', () => {
    expect(parseRedisUrl('redis://h').retryStrategy(4)).toBeNull()
    expect(parseRedisUrl('redis://h', {blocking: true}).retryStrategy(100)).toBe(5000)
  })
})
