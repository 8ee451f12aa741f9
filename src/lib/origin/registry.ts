/** The low-latency streams an ingest node's origin answers for, by video id. */
import type {LlStream} from './ll-stream.js'

export class LlRegistry {
  private readonly streams = new Map<string, LlStream>()

  add(videoId: string, stream: LlStream): void {
    this.streams.set(videoId, stream)
  }

  /** Forgets a stream (only that one: a newer stream of the same id stays). */
  remove(videoId: string, stream: LlStream): void {
    if (this.streams.get(videoId) === stream) this.streams.delete(videoId)
  }

  get(videoId: string): LlStream | undefined {
    return this.streams.get(videoId)
  }

  stopAll(): void {
    for (const stream of this.streams.values()) stream.stop()
    this.streams.clear()
  }
}
