import {Flags} from '@oclif/core'

/** The queue flag of `worker` and `jobs` (required there; optional on `run` and `serve`). */
export const queueFlag = {
  queue: Flags.string({description: 'The job queue: redis://HOST:PORT (BullMQ on Redis).', env: 'LIVECTL_QUEUE', required: true}),
}
