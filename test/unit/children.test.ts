import {spawn} from 'node:child_process'

import {describe, expect, it} from 'vitest'

import {stopTrackedChildren, trackChild} from '../support/children.js'

describe('test children', () => {
  it('stops what a test left running: SIGTERM, and SIGKILL for one that ignores it', async () => {
    const polite = trackChild(spawn('sleep', ['60'], {stdio: 'ignore'}))
    const stubborn = trackChild(spawn(process.execPath, ['-e', "process.on('SIGTERM', () => undefined); console.log('ready'); setInterval(() => undefined, 1000)"], {stdio: ['ignore', 'pipe', 'ignore']}))
    await new Promise((resolve) => stubborn.stdout.once('data', resolve))
    const exits = [polite, stubborn].map((child) => new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal))))
    expect(await stopTrackedChildren()).toBe(2)
    expect(await Promise.all(exits)).toEqual(['SIGTERM', 'SIGKILL'])
    expect(await stopTrackedChildren()).toBe(0)
  }, 20_000)
})
