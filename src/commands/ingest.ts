import path from 'node:path'

import {Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {catalogFlags, catalogOptionsFrom, storageConfigFrom, storageFlags} from '../cli/flags.js'
import {validatePartDuration} from '../lib/ingest/live-args.js'
import {startIngestServer} from '../lib/ingest/server.js'
import {DEINTERLACE_MODES, parseDeinterlaceMode} from '../lib/media/picture.js'
import {DEFAULT_LIVE_LADDER, loadLadder} from '../lib/media/ladder.js'
import {X264_PRESETS} from '../lib/media/encoder-settings.js'
import {validateSegmentDuration} from '../lib/media/transcode.js'

export interface IngestResult {
  rtmpUrl: string
  stoppedBy: string
  /** Streams this node had left live (after a crash), closed when it started. */
  reconciled: Array<{videoId: string; status: string; reason?: string}>
}

export default class Ingest extends BaseCommand {
  static override summary = 'Run the RTMP ingest: broadcasters push with a stream key, viewers get live HLS/DASH from storage.'
  static override description =
    'Each push to rtmp://HOST:PORT/live/KEY with an active key (see `livectl keys`) becomes a live video: one ffmpeg encodes the live ' +
    'ladder (never above the source) and packages CMAF; every segment goes to --to storage as soon as it is complete, then its ' +
    'playlists. When the broadcaster stops, the playlists end and the whole stream stays as a VOD (status ended). Runs until SIGINT/SIGTERM.'

  static override examples = [
    '<%= config.bin %> ingest',
    '<%= config.bin %> ingest --host 0.0.0.0 --rtmp-port 1935 --to s3://media-bucket/live --live-ladder 720p,360p --metrics-port 9102',
    'ffmpeg -re -i talk.mp4 -c:v libx264 -c:a aac -f flv rtmp://127.0.0.1:1935/live/$STREAM_KEY   # the broadcaster',
  ]

  static override flags = {
    ...catalogFlags,
    ...storageFlags,
    host: Flags.string({description: 'Address the RTMP server binds to.', env: 'LIVECTL_HOST', default: '127.0.0.1'}),
    'rtmp-port': Flags.integer({description: 'RTMP port.', env: 'LIVECTL_RTMP_PORT', default: 1935, min: 1, max: 65_535}),
    to: Flags.string({description: 'Storage for live packages: a folder, s3://bucket/prefix or hdfs://... [default: DATA_DIR/media].', env: 'LIVECTL_PUBLISH_TO'}),
    'live-ladder': Flags.string({description: 'Live rungs (capped at the source), or a JSON ladder file.', env: 'LIVECTL_LIVE_LADDER', default: DEFAULT_LIVE_LADDER.join(',')}),
    'segment-duration': Flags.string({description: 'Segment duration in seconds (1 allowed).', env: 'LIVECTL_SEGMENT_DURATION', default: '2'}),
    'dvr-window': Flags.integer({description: 'Seconds of the stream a live player can rewind.', env: 'LIVECTL_DVR_WINDOW', default: 30, min: 4}),
    preset: Flags.string({description: 'x264 preset for live (it must keep up in real time).', env: 'LIVECTL_LIVE_PRESET', default: 'veryfast', options: [...X264_PRESETS]}),
    deinterlace: Flags.string({description: 'Interlaced cameras (1080i): auto deinterlaces when the stream says it is interlaced; on always; off never.', env: 'LIVECTL_DEINTERLACE', default: 'auto', options: [...DEINTERLACE_MODES]}),
    'reconnect-grace': Flags.integer({description: 'Seconds a broadcaster may be gone and reconnect to continue the same video.', env: 'LIVECTL_RECONNECT_GRACE', default: 10, min: 0, max: 25}),
    'metrics-port': Flags.integer({description: 'Serve Prometheus metrics on this port (0 for none).', env: 'LIVECTL_METRICS_PORT', default: 0, min: 0, max: 65_535}),
    'storage-outage-limit': Flags.integer({
      description: 'Seconds storage may fail before a live stream ends failed; meanwhile its segments wait in the work folder and go out in order when storage is back.',
      env: 'LIVECTL_STORAGE_OUTAGE_LIMIT',
      default: 60,
      min: 1,
    }),
    'low-latency': Flags.boolean({
      description: 'Also serve the stream as low-latency HLS and DASH (parts, blocking playlist reload, chunked transfer) from this node\'s origin; segments still go to --to.',
      env: 'LIVECTL_LOW_LATENCY',
      default: false,
    }),
    'part-duration': Flags.string({description: 'With --low-latency: seconds per part (CMAF chunk).', env: 'LIVECTL_PART_DURATION', default: '0.333'}),
    'origin-port': Flags.integer({description: 'With --low-latency: port of the low-latency origin (same address as RTMP; 0 picks a free one).', env: 'LIVECTL_ORIGIN_PORT', default: 8090, min: 0, max: 65_535}),
    'origin-url': Flags.string({description: 'With --low-latency: the origin\'s URL as players reach it, e.g. through a CDN [default: http://HOST:ORIGIN-PORT].', env: 'LIVECTL_ORIGIN_URL'}),
    'node-id': Flags.string({
      description: 'This ingest node\'s name in the catalog: on start it closes the streams it left live (after a crash), never another node\'s [default: the host name].',
      env: 'LIVECTL_NODE_ID',
    }),
  }

  public async run(): Promise<IngestResult> {
    const {flags} = await this.parse(Ingest)
    const dataDir = this.dataDir(flags)
    const segmentDurationSeconds = validateSegmentDuration(Number(flags['segment-duration']))
    const ingest = await startIngestServer({
      ...catalogOptionsFrom(flags, dataDir),
      ...storageConfigFrom(flags),
      host: flags.host,
      rtmpPort: flags['rtmp-port'],
      to: flags.to ?? path.join(dataDir, 'media'),
      rungs: await loadLadder(flags['live-ladder']),
      segmentDurationSeconds,
      dvrWindowSeconds: flags['dvr-window'],
      preset: flags.preset,
      deinterlace: parseDeinterlaceMode(flags.deinterlace),
      reconnectGraceSeconds: flags['reconnect-grace'],
      metricsPort: flags['metrics-port'] || undefined,
      storageOutageLimitSeconds: flags['storage-outage-limit'],
      nodeId: flags['node-id'],
      lowLatency: flags['low-latency']
        ? {partSeconds: validatePartDuration(Number(flags['part-duration']), segmentDurationSeconds), originPort: flags['origin-port'], originUrl: flags['origin-url']}
        : undefined,
      log: (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
    })
    process.stderr.write(`livectl ingest listening on ${ingest.rtmpUrl}/KEY${ingest.metricsUrl ? ` (metrics on ${ingest.metricsUrl})` : ''}${ingest.originUrl ? ` (low-latency origin on ${ingest.originUrl}/live/VIDEO/master.m3u8)` : ''}\n`)
    const stoppedBy = await new Promise<string>((resolve) => {
      this.signal.addEventListener('abort', () => resolve(String((this.signal.reason as Error | undefined)?.message ?? 'signal')), {once: true})
    })
    process.stderr.write('livectl ingest: ending live streams...\n')
    await ingest.close()
    process.stderr.write('livectl ingest stopped\n')
    return {rtmpUrl: ingest.rtmpUrl, stoppedBy, reconciled: ingest.reconciled}
  }
}
