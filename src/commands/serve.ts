import {Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {catalogFlags, catalogOptionsFrom, signingFlags, storageConfigFrom, storageFlags} from '../cli/flags.js'
import {startApiServer} from '../lib/api/serve.js'
import {VOD_JOB_DEFAULTS} from '../lib/jobs/job-spec.js'
import {validatePreset, X264_PRESETS} from '../lib/media/encoder-settings.js'
import {resolveSigning} from '../lib/cdn/config.js'

export interface ServeResult {
  url: string
  catalog: string
  stoppedBy: string
}

export default class Serve extends BaseCommand {
  static override aliases = ['serve-api']
  static override summary = 'Run the HTTP API and the pages viewers watch on: frames, comments (live), videos, media, metrics.'
  static override description =
    'Serves the watch pages (GET /, GET /watch/ID), GET /video/time, POST /comment, GET /video/comments, GET /video/comments/stream (server-sent events), ' +
    'GET /videos, GET /videos/ID, the packaged media under /media/ID/FILE, GET /healthz, GET /metrics (Prometheus) and GET /openapi.json ' +
    'until SIGINT/SIGTERM, then finishes in-flight requests and exits.'

  static override examples = [
    '<%= config.bin %> serve',
    '<%= config.bin %> serve --host 0.0.0.0 --port 8080 --db mysql://livectl:secret@db:3306/livectl --public-url https://video.example.com',
    '<%= config.bin %> serve --cors-origins "*,https://app.example.com"',
    '<%= config.bin %> serve --upload-token "$UPLOAD_TOKEN" --queue redis://127.0.0.1:6379 --upload-to s3://uploads --publish-to s3://media-bucket/vod',
  ]

  static override flags = {
    ...catalogFlags,
    ...storageFlags,
    ...signingFlags,
    'media-url': Flags.string({description: 'CDN base URL of published media: frame URLs become MEDIA_URL/VIDEO_ID/FILE [default: this server\'s /media].', env: 'LIVECTL_MEDIA_URL'}),
    'signed-url-ttl': Flags.string({description: 'How long handed-out signed URLs stay valid.', env: 'LIVECTL_SIGNED_URL_TTL', default: '1h'}),
    host: Flags.string({description: 'Address to listen on.', env: 'LIVECTL_HOST', default: '127.0.0.1'}),
    port: Flags.integer({description: 'Port to listen on (0 picks a free one).', env: 'LIVECTL_PORT', default: 8080, min: 0, max: 65_535}),
    'public-url': Flags.string({description: 'Base of the media URLs handed to players [default: from each request].', env: 'LIVECTL_PUBLIC_URL'}),
    'device-profiles': Flags.string({description: 'JSON file replacing the device profile table.', env: 'LIVECTL_DEVICE_PROFILES'}),
    'cors-origins': Flags.string({
      description: 'Origins whose pages may use the API and media: * (any may read), none, or a comma-separated list (those may also post comments; * never allows cross-origin posting).',
      env: 'LIVECTL_CORS_ORIGINS',
      default: '*',
    }),
    'comment-poll-ms': Flags.integer({
      description: 'How often open comment streams look in the catalog for comments posted through other replicas (comments posted through this server go out at once).',
      env: 'LIVECTL_COMMENT_POLL_MS',
      default: 100,
      min: 10,
      max: 10_000,
    }),
    'comment-rate-limit': Flags.integer({
      description: 'Comments one client (IP address) may post per minute; more get 429 with Retry-After (0: no limit).',
      env: 'LIVECTL_COMMENT_RATE_LIMIT',
      default: 30,
      min: 0,
    }),
    'trust-proxy': Flags.boolean({description: 'Take client addresses from X-Forwarded-For (behind a load balancer or CDN); needed for per-client rate limits there.', env: 'LIVECTL_TRUST_PROXY'}),
    'log-level': Flags.string({description: 'Request log level.', env: 'LIVECTL_LOG_LEVEL', default: 'warn', options: ['silent', 'error', 'warn', 'info', 'debug']}),
    queue: Flags.string({description: 'Job queue (redis://HOST:PORT): uploads\' jobs go there for `livectl worker`, and /metrics shows its depth [default: uploads are processed in this process].', env: 'LIVECTL_QUEUE'}),
    'upload-token': Flags.string({description: 'Enables POST /videos (uploads) for clients sending "Authorization: Bearer TOKEN".', env: 'LIVECTL_UPLOAD_TOKEN'}),
    'upload-to': Flags.string({description: 'Storage for uploaded recordings, shared with the workers [default: DATA_DIR/uploads].', env: 'LIVECTL_UPLOAD_TO'}),
    'publish-to': Flags.string({description: 'Storage the uploads\' packages are published to [default: DATA_DIR/media].', env: 'LIVECTL_PUBLISH_TO'}),
    'upload-limit-mb': Flags.integer({description: 'Largest upload accepted, in MiB (413 above).', env: 'LIVECTL_UPLOAD_LIMIT_MB', default: 4096, min: 1}),
    ladder: Flags.string({description: 'Rungs made from uploads.', env: 'LIVECTL_LADDER', default: VOD_JOB_DEFAULTS.ladder}),
    preset: Flags.string({description: 'x264 preset for uploads.', env: 'LIVECTL_PRESET', default: VOD_JOB_DEFAULTS.preset, options: [...X264_PRESETS]}),
  }

  public async run(): Promise<ServeResult> {
    const {flags} = await this.parse(Serve)
    const signing = await resolveSigning({
      signingKeys: flags['signing-keys'],
      scheme: flags['signing-scheme'],
      ttl: flags['signed-url-ttl'],
      cloudFrontKeyPairId: flags['cloudfront-key-pair-id'],
      cloudFrontPrivateKeyFile: flags['cloudfront-private-key'],
    })
    const server = await startApiServer({
      ...signing,
      mediaBaseUrl: flags['media-url'],
      ...storageConfigFrom(flags),
      ...catalogOptionsFrom(flags, this.dataDir(flags)),
      host: flags.host,
      port: flags.port,
      publicUrl: flags['public-url'],
      deviceProfilesFile: flags['device-profiles'],
      corsOrigins: flags['cors-origins'],
      commentPollMs: flags['comment-poll-ms'],
      commentsPerMinute: flags['comment-rate-limit'],
      trustProxy: flags['trust-proxy'],
      logLevel: flags['log-level'] as 'warn',
      queueUrl: flags.queue,
      ...(flags['upload-token']
        ? {uploads: {token: flags['upload-token'], storeTo: flags['upload-to'], publishTo: flags['publish-to'], limitBytes: flags['upload-limit-mb'] * 1024 ** 2, ladder: flags.ladder, preset: validatePreset(flags.preset)}}
        : {}),
    })
    // The first line on stderr says where it listens, also under --json (stdout then carries only the result).
    process.stderr.write(`livectl API listening on ${server.url} (catalog ${server.catalog})\n`)
    const stoppedBy = await new Promise<string>((resolve) => {
      this.signal.addEventListener('abort', () => resolve(String((this.signal.reason as Error | undefined)?.message ?? 'signal')), {once: true})
    })
    await server.close()
    process.stderr.write('livectl API stopped\n')
    return {url: server.url, catalog: server.catalog, stoppedBy}
  }
}
