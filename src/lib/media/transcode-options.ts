/**
 * What `transcodeLadder` takes and reports, apart from it: the audio-only path (audio-only.ts) and
 * the callers use these without importing the orchestrator, which imports them back.
 */
import type {ChunkEncoder, ChunkTask} from './chunks.js'
import type {PlannedRendition, Rung} from './ladder.js'
import type {DeinterlaceMode, PicturePlan} from './picture.js'
import type {MediaFacts} from './probe.js'
import type {RateControlMode} from './rate-control.js'

export interface TranscodeDryRun {
  dryRun: true
  source: MediaFacts
  /** False for an audio-only source: no plan, and the command encodes its audio (rateControl does not apply). */
  hasVideo?: false
  outputDir: string
  plan: PlannedRendition[]
  rateControl: RateControlMode
  picture?: PicturePlan
  /** The command; with per-title, the CRFs shown are capped-crf's until the probe has run. */
  command: string[]
}

export interface TranscodeProgress {
  /** 0..1, undefined when the source duration is unknown. */
  fraction?: number
  /** Times realtime. */
  speed?: number
  outTimeSeconds?: number
}

export interface TranscodeOptions {
  input: string
  outputDir: string
  rungs: readonly Rung[]
  segmentDurationSeconds: number
  preset: string
  /** How each rung's bits are spent (default DEFAULT_RATE_CONTROL; see rate-control.ts). */
  rateControl?: RateControlMode
  dryRun?: boolean
  /** Encode in chunks of this many seconds (whole segments), joined without re-encoding; see chunks.ts. */
  chunkSeconds?: number
  /** Interlaced sources: detect (auto, the default), always deinterlace (on), never (off). */
  deinterlace?: DeinterlaceMode
  /** Where chunks are encoded (default: here, one after another); the queue's encoder spreads them over the workers, all at once. */
  chunkEncoder?: ChunkEncoder
  /** Shared storage through which workers elsewhere read the input and return chunks (see ChunkTask.shared). */
  chunkShared?: ChunkTask['shared']
  signal?: AbortSignal
  onProgress?: (progress: TranscodeProgress) => void
}
