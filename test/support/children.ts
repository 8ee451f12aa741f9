/**
 * Every long-running process a test starts (a `livectl worker`, `serve` or `ingest`, an ffmpeg
 * push) is tracked here, and whatever is still running when its test file ends is stopped:
 * SIGTERM, then SIGKILL after a grace period. A test that failed half-way used to leave workers
 * polling Redis for an hour, ready to take the next run's jobs. The runner's own exit kills what is
 * left too (SIGKILL: nothing can wait there).
 */
import type {ChildProcess} from 'node:child_process'

const running = new Set<ChildProcess>()
const GRACE_MS = 5000

export function trackChild<T extends ChildProcess>(child: T): T {
  running.add(child)
  child.once('exit', () => running.delete(child))
  return child
}

const alive = (child: ChildProcess) => child.exitCode === null && child.signalCode === null

export async function stopTrackedChildren(): Promise<number> {
  const left = [...running].filter(alive)
  await Promise.all(left.map(async (child) => {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), GRACE_MS)
    await exited
    clearTimeout(timer)
  }))
  running.clear()
  return left.length
}

process.once('exit', () => {
  for (const child of running) if (alive(child)) child.kill('SIGKILL')
})
