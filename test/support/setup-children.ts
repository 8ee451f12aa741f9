/** vitest setup file: stops every process a test file started and left running (support/children.ts). */
import {afterAll} from 'vitest'

import {stopTrackedChildren} from './children.js'

afterAll(async () => {
  const stopped = await stopTrackedChildren()
  if (stopped > 0) console.warn(`stopped ${stopped} process(es) the test file left running`)
})
