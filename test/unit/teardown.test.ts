import {describe, expect, it} from 'vitest'

import {TeardownStack} from '../../src/lib/ingest/teardown.js'

describe('teardown stack', () => {
  it('runs the cleanups newest first, waiting for each', async () => {
    const order: string[] = []
    const teardown = new TeardownStack()
    teardown.push('catalog', () => order.push('catalog'))
    teardown.push('server', async () => {
      await new Promise((resolve) => setTimeout(resolve, 5))
      order.push('server')
    })
    teardown.push('timer', () => order.push('timer'))
    await teardown.run()
    expect(order).toEqual(['timer', 'server', 'catalog'])
  })

  it('runs once, however many exits ask for it', async () => {
    let runs = 0
    const teardown = new TeardownStack()
    teardown.push('counted', () => runs++)
    const first = teardown.run()
    const second = teardown.run()
    expect(second).toBe(first)
    await Promise.all([first, second, teardown.run()])
    expect(runs).toBe(1)
  })

  it('runs every cleanup when one fails, then rejects with that failure as it was thrown', async () => {
    class ServerError extends Error {}
    const order: string[] = []
    const teardown = new TeardownStack()
    teardown.push('catalog', () => order.push('catalog'))
    teardown.push('server', () => {
      throw new ServerError('socket already closed')
    })
    teardown.push('timer', () => order.push('timer'))
    await expect(teardown.run()).rejects.toBeInstanceOf(ServerError)
    expect(order).toEqual(['timer', 'catalog'])
  })

  it('names every cleanup that failed when several did', async () => {
    const teardown = new TeardownStack()
    teardown.push('catalog', async () => {
      throw new Error('connection lost')
    })
    teardown.push('server', () => {
      throw new Error('not running')
    })
    const failure = await teardown.run().catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(AggregateError)
    expect((failure as AggregateError).message).toBe('2 cleanups failed: server: not running; catalog: connection lost')
    expect((failure as AggregateError).errors).toHaveLength(2)
  })

  it('takes no cleanup after it has run: that resource would never be released', async () => {
    const teardown = new TeardownStack()
    await teardown.run()
    expect(() => teardown.push('late', () => undefined)).toThrow(/already run/)
  })
})
