/** A broadcaster: ffmpeg pushing a generated clip in real time (-re) to an RTMP URL. */
import {spawn} from 'node:child_process'

import {trackChild} from './children.js'

export interface Push {
  exited: boolean
  done: Promise<{code: number | null; stderr: string}>
  stop(): void
  /** Drops the connection the hard way (SIGKILL), as a crashed encoder or a lost network would. */
  kill(): void
}

export interface PushOptions {
  width: number
  height: number
  durationSeconds: number
  audio?: boolean
  frequency?: number
  /** Frames per second of the picture generated (the encoder's rate; 30 by default). */
  rate?: number
  /** Filters on the generated picture (e.g. to HDR, or to woven fields), and the encoder's picture settings in place of 8-bit 4:2:0. */
  picture?: {filter: string; encoderArgs: string[]}
}

export function startPush(url: string, options: PushOptions): Push {
  const args = [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', `testsrc2=size=${options.width}x${options.height}:rate=${options.rate ?? 30}:duration=${options.durationSeconds}`,
    ...(options.audio === false ? [] : ['-f', 'lavfi', '-i', `sine=frequency=${options.frequency ?? 440}:sample_rate=48000:duration=${options.durationSeconds}`]),
    ...(options.picture ? ['-vf', options.picture.filter] : []),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '30', ...(options.picture?.encoderArgs ?? ['-pix_fmt', 'yuv420p']),
    ...(options.audio === false ? [] : ['-c:a', 'aac', '-b:a', '96k']),
    '-f', 'flv', url,
  ]
  const child = trackChild(spawn('ffmpeg', args, {stdio: ['ignore', 'ignore', 'pipe']}))
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const push: Push = {
    exited: false,
    done: new Promise((resolve) => child.on('close', (code) => {
      push.exited = true
      resolve({code, stderr})
    })),
    stop: () => void child.kill('SIGINT'),
    kill: () => void child.kill('SIGKILL'),
  }
  return push
}
