import path from 'node:path'

import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {catalogFlags, catalogOptionsFrom, storageConfigFrom, storageFlags} from '../cli/flags.js'
import {invalidationFlags, invalidationFrom} from '../cli/flags-cdn.js'
import {DEFAULT_PUBLISH_CONCURRENCY, type PublishResult, publishPackage} from '../lib/publish/publish.js'

export default class Publish extends BaseCommand {
  static override summary = 'Upload a package to storage (folder, S3, HDFS), register it in the catalog, and invalidate the CDN.'
  static override description =
    'Segments and init segments go up first, playlists and the MPD last, so no viewer ever sees a manifest pointing at a missing file. ' +
    'Re-running uploads only what is missing or different (size and SHA-256), so an interrupted publish resumes where it stopped. ' +
    'Throttling, 5xx and dropped connections are retried with exponential backoff and jitter.'

  static override examples = [
    '<%= config.bin %> publish packages/talk --to ./livectl-data/media',
    '<%= config.bin %> publish packages/talk --to s3://media-bucket/vod --video-id talk --title "Keynote"',
    '<%= config.bin %> publish packages/talk --to s3://media-bucket/vod --invalidate --cdn-distribution E2ABCDEF123 --wait-invalidation',
    '<%= config.bin %> publish packages/talk --to s3://media/vod --s3-endpoint http://127.0.0.1:9000 --dry-run',
    '<%= config.bin %> publish packages/talk --to hdfs://namenode:9870/media --hdfs-user livectl',
  ]

  static override args = {package: Args.string({description: 'Package directory written by `livectl segment`.', required: true})}

  static override flags = {
    ...catalogFlags,
    ...storageFlags,
    to: Flags.string({description: 'Storage URI: a folder, file://, s3://bucket/prefix or hdfs://namenode:port/path [default: DATA_DIR/media].', env: 'LIVECTL_PUBLISH_TO'}),
    'video-id': Flags.string({description: 'Video id [default: from the package directory name].', env: 'LIVECTL_VIDEO_ID'}),
    title: Flags.string({description: 'Title [default: the id].', env: 'LIVECTL_TITLE'}),
    concurrency: Flags.integer({description: 'Files uploaded at once.', env: 'LIVECTL_CONCURRENCY', default: DEFAULT_PUBLISH_CONCURRENCY, min: 1, max: 64}),
    attempts: Flags.integer({description: 'Tries per file before giving up.', env: 'LIVECTL_ATTEMPTS', default: 5, min: 1, max: 20}),
    ...invalidationFlags,
    'dry-run': Flags.boolean({description: 'List what would be uploaded and skipped; change nothing.', env: 'LIVECTL_DRY_RUN'}),
  }

  public async run(): Promise<PublishResult> {
    const {args, flags} = await this.parse(Publish)
    const invalidate = invalidationFrom(flags)

    const options = {
      packageDir: args.package,
      to: flags.to ?? path.join(this.dataDir(flags), 'media'),
      videoId: flags['video-id'],
      title: flags.title,
      ...catalogOptionsFrom(flags, this.dataDir(flags)),
      ...storageConfigFrom(flags),
      concurrency: flags.concurrency,
      attempts: flags.attempts,
      dryRun: flags['dry-run'],
      invalidate,
      signal: this.signal,
      onRetry: (file: string, attempt: number, error: unknown) => this.logToStderr(`retrying ${file} (attempt ${attempt + 1}): ${(error as Error).message}`),
    }
    const result = await this.step(`Publishing ${path.basename(path.resolve(args.package))}`, (update) =>
      publishPackage({
        ...options,
        onProgress: (progress) =>
          update({
            fraction: progress.bytesTotal ? progress.bytesDone / progress.bytesTotal : undefined,
            detail: `${progress.filesDone}/${progress.filesTotal} files, ${(progress.bytesDone / 1e6).toFixed(1)} MB, ${(progress.bytesPerSecond / 1e6).toFixed(1)} MB/s uploaded`,
          }),
      }),
    )
    const verb = result.dryRun ? 'Would upload' : 'Uploaded'
    this.say(`${verb} ${result.uploaded} files (${(result.bytesUploaded / 1e6).toFixed(1)} MB), ${result.skipped} already there, in ${result.seconds} s`)
    for (const entry of result.plan ?? []) this.say(`  ${entry.action.padEnd(6)} ${entry.key}`)
    if (!result.dryRun) this.say(`Video ${result.videoId} is ready at ${result.location}`)
    if (result.invalidation) this.say(`Invalidated ${result.invalidation.paths.length} paths (${result.invalidation.mode}, ${result.invalidation.status})`)
    return result
  }
}
