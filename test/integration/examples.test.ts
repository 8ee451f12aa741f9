/**
 * The recipes in examples/ run: the batch script (as a dry run: it needs S3 and CloudFront), the
 * ffmpeg push (for real, into `livectl ingest`), and every livectl command written in a recipe, a
 * unit file or a command's own `static examples` uses only flags that command has.
 */
import {execFile} from 'node:child_process'
import {readdir, readFile} from 'node:fs/promises'
import path from 'node:path'
import {promisify} from 'node:util'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parse as parseYaml} from 'yaml'

import {openCatalog} from '../../src/lib/catalog/connection.js'
import {createStreamKey} from '../../src/lib/ingest/keys.js'
import {type RunningIngest, startIngestServer} from '../../src/lib/ingest/server.js'
import {standardLadder} from '../../src/lib/media/ladder.js'
import {BIN, ROOT} from '../support/cli.js'
import {makeClip, makeTempDir} from '../support/media.js'
import {freePort} from '../support/moto.js'
import {waitFor} from '../support/wait.js'

const exec = promisify(execFile)
const EXAMPLES = path.join(ROOT, 'examples')
const LIVECTL = `${process.execPath} ${BIN}`
let work: Awaited<ReturnType<typeof makeTempDir>>

beforeAll(async () => {
  work = await makeTempDir('livectl-examples-')
})

afterAll(async () => {
  await work?.cleanup()
})

interface Manifest {
  commands: Record<string, {flags: Record<string, {char?: string}>; examples?: string[]}>
}

/** `livectl CMD [SUB] ... --flag ...` -> the command id and the flags it names. */
function parseCommandLine(line: string, manifest: Manifest): {id: string; flags: string[]} | undefined {
  const words = line.replace(/\\\n/g, ' ').split(/\s+/).filter(Boolean)
  const start = words.findIndex((word) => /(^|\/)livectl$/.test(word))
  if (start < 0) return undefined
  const rest = words.slice(start + 1)
  const id = rest[1] && manifest.commands[`${rest[0]}:${rest[1]}`] ? `${rest[0]}:${rest[1]}` : (rest[0] as string)
  // Up to the end of an inline `code` span; flags without what follows them (=value, a backtick, punctuation).
  const end = rest.findIndex((word) => word.includes('`'))
  const words2 = end < 0 ? rest : rest.slice(0, end + 1)
  return {id, flags: words2.flatMap((word) => /^--([a-z][a-z0-9-]*)/.exec(word)?.[1] ?? [])}
}

describe('examples/', () => {
  it('batch-to-s3.sh plans every recording of a folder for S3 with CloudFront invalidation (dry run)', async () => {
    const folder = path.join(work.dir, 'recordings')
    await makeClip(folder, 'Talk One.mp4', {width: 160, height: 90, durationSeconds: 1})
    await makeClip(folder, 'panel.mov', {width: 160, height: 90, durationSeconds: 1})
    const {stdout} = await exec('bash', [path.join(EXAMPLES, 'batch-to-s3.sh'), folder, 's3://media-bucket/vod', 'E2ABCDEF123'], {
      env: {...process.env, DRY_RUN: '1', LIVECTL: LIVECTL, LIVECTL_DATA_DIR: path.join(work.dir, 'batch-data')},
    })
    const plan = JSON.parse(stdout) as {dryRun: boolean; jobs: Array<{videoId: string; action: string; stages: string[]; location: string}>}
    expect(plan.dryRun).toBe(true)
    expect(plan.jobs.map((job) => [job.videoId, job.action, job.location]).sort()).toEqual([
      ['panel', 'run', 's3://media-bucket/vod/panel'],
      ['talk-one', 'run', 's3://media-bucket/vod/talk-one'],
    ])
    expect(plan.jobs[0]?.stages).toEqual(['transcode', 'segment', 'publish'])
  })

  it('live/ffmpeg-push.sh pushes to livectl ingest with a stream key, and the stream ends as a VOD', async () => {
    const dataDir = path.join(work.dir, 'ingest-data')
    const catalog = await openCatalog({dataDir})
    const {key} = await createStreamKey(catalog, 'example')
    await catalog.close()
    const clip = await makeClip(work.dir, 'camera.mp4', {width: 320, height: 180, durationSeconds: 6, audio: 'stereo'})
    const rtmpPort = await freePort()
    const ended = new Map<string, string>()
    let ingest: RunningIngest | undefined
    try {
      ingest = await startIngestServer({
        dataDir, host: '127.0.0.1', rtmpPort, to: path.join(dataDir, 'media'), rungs: standardLadder(['144p']),
        segmentDurationSeconds: 1, dvrWindowSeconds: 4, preset: 'ultrafast', reconnectGraceSeconds: 1, log: () => undefined,
      })
      ingest.onSessionEnd((result) => ended.set(result.videoId, result.status))
      const script = path.join(EXAMPLES, 'live', 'ffmpeg-push.sh')
      const dry = await exec('bash', [script, `rtmp://127.0.0.1:${rtmpPort}`, clip], {env: {...process.env, STREAM_KEY: key, DRY_RUN: '1'}})
      expect(dry.stdout).toContain(`rtmp://127.0.0.1:${rtmpPort}/live/${key}`)
      await exec('bash', [script, `rtmp://127.0.0.1:${rtmpPort}`, clip], {env: {...process.env, STREAM_KEY: key}})
      await waitFor(() => ended.size === 1, {what: 'the pushed stream to end', timeoutMs: 60_000})
      expect([...ended.values()]).toEqual(['ended'])
    } finally {
      await ingest?.close()
    }
  })

  it('the CI workflow is valid YAML whose livectl step reads the list of new recordings', async () => {
    const workflow = parseYaml(await readFile(path.join(EXAMPLES, 'ci', 'process-recordings.yml'), 'utf8')) as {jobs: Record<string, {steps: Array<{run?: string}>}>}
    const runs = Object.values(workflow.jobs).flatMap((job) => job.steps.map((step) => step.run ?? ''))
    expect(runs.some((run) => /livectl run --from-file new-recordings\.txt .*--invalidate/.test(run))).toBe(true)
  })

  it('every livectl command in a recipe, a unit file, the README or a command\'s examples uses flags that command has', async () => {
    const manifest = JSON.parse(await readFile(path.join(ROOT, 'oclif.manifest.json'), 'utf8')) as Manifest
    const lines: Array<{where: string; line: string}> = []
    const files = (await readdir(EXAMPLES, {recursive: true})).map((file) => path.join(EXAMPLES, file))
    for (const file of [...files, path.join(ROOT, 'README.md')]) {
      if (!/\.(sh|md|yml|service)$/.test(file)) continue
      const text = (await readFile(file, 'utf8')).replace(/\\\n\s*/g, ' ')
      for (const line of text.split('\n')) if (/\blivectl [a-z]/.test(line)) lines.push({where: path.relative(ROOT, file), line})
    }

    for (const [id, command] of Object.entries(manifest.commands)) for (const example of command.examples ?? []) lines.push({where: `${id} examples`, line: example.replace('<%= config.bin %>', 'livectl')})
    const problems: string[] = []
    let checked = 0
    for (const {where, line} of lines) {
      for (const segment of line.split(/livectl(?= [a-z])/).slice(1)) {
        const parsed = parseCommandLine(`livectl${segment}`, manifest)
        const command = parsed && manifest.commands[parsed.id]
        if (!parsed || !command) continue
        checked += 1
        const known = new Set(Object.keys(command.flags))
        for (const flag of parsed.flags) if (!known.has(flag)) problems.push(`${where}: livectl ${parsed.id.replace(':', ' ')} has no --${flag} (${line.trim().slice(0, 120)})`)
      }
    }

    expect(problems, problems.join('\n')).toEqual([])
    expect(checked).toBeGreaterThan(40)
  })
})
