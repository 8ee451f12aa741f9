/** Chunk tasks taken off the queue: checked before a worker runs ffmpeg on them. */
import {describe, expect, it} from 'vitest'

import {UserError} from '../../src/lib/errors.js'
import {parseChunkTask} from '../../src/lib/jobs/chunk-worker.js'

const task = {
  key: 'talk-abc123',
  input: '/shared/talk.mp4',
  outputs: ['/shared/work/chunk-1-360p.mp4'],
  renditions: [{name: '360p', width: 640, pixelHeight: 360}],
  chunk: {index: 1, startSeconds: 6, frames: 150, prerollFrames: 75},
  frameRate: 25,
  segmentDurationSeconds: 2,
  preset: 'veryfast',
  shared: {inputUri: 's3://uploads/talk.mp4', outputUri: 's3://media/livectl-chunks-tmp/talk'},
}

describe('parseChunkTask', () => {
  it('passes a task as the fan-out made it', () => {
    expect(parseChunkTask(structuredClone(task), 'Chunk job talk-abc123-1')).toEqual(task)
  })

  it('refuses job data that is not a chunk task, naming the job', () => {
    expect(() => parseChunkTask({key: 'x'}, 'Chunk job x-1')).toThrow(UserError)
    expect(() => parseChunkTask({...task, chunk: {index: -1, startSeconds: 0, prerollFrames: 0}}, 'Chunk job x-1')).toThrow(/^Chunk job x-1: chunk\.index must be >= 0$/)
    expect(() => parseChunkTask({...task, shared: {inputUri: 's3://u/a.mp4'}}, 'Chunk job x-1')).toThrow(/shared must have required property 'outputUri'/)
  })

  it('refuses a task whose outputs do not match its renditions one to one', () => {
    expect(() => parseChunkTask({...task, outputs: ['/a.mp4', '/b.mp4']}, 'Chunk job x-1')).toThrow(/2 outputs for 1 renditions/)
  })
})
