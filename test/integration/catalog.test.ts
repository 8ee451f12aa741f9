/** The catalog on both backends: migrations, videos, ids, comments. */
import path from 'node:path'

import {sql} from 'kysely'
import {Migrator} from 'kysely/migration'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {listComments, postComment} from '../../src/lib/catalog/comments.js'
import {type Catalog, catalogMigrationStatus, openCatalog, resolveCatalogLocation} from '../../src/lib/catalog/connection.js'
import {assertValidId, idFromName, isValidId} from '../../src/lib/catalog/ids.js'
import {migrationProvider} from '../../src/lib/catalog/migrations.js'
import {databaseStatus, migrateDatabase} from '../../src/lib/catalog/service.js'
import {getVideo, listVideos, upsertVideo} from '../../src/lib/catalog/videos.js'
import {ServiceUnavailableError, UserError} from '../../src/lib/errors.js'
import {makeTempDir} from '../support/media.js'
import {createTestDatabase, runMysqlSuites} from '../support/mysql.js'

let work: {dir: string; cleanup: () => Promise<void>}

beforeAll(async () => {
  work = await makeTempDir('livectl-catalog-')
})

afterAll(async () => {
  await work?.cleanup()
})

describe('catalog location', () => {
  it('defaults to SQLite in the data directory and reads sqlite: and mysql:// URLs', () => {
    expect(resolveCatalogLocation(undefined, '/data')).toEqual({dialect: 'sqlite', target: '/data/catalog.db', display: 'sqlite:/data/catalog.db'})
    expect(resolveCatalogLocation('sqlite:/tmp/x.db', '/data').target).toBe('/tmp/x.db')
    expect(resolveCatalogLocation('sqlite::memory:', '/data').target).toBe(':memory:')
    expect(resolveCatalogLocation('mysql://livectl:secret@db:3306/livectl', '/data')).toEqual({
      dialect: 'mysql', target: 'mysql://livectl:secret@db:3306/livectl', display: 'mysql://livectl:***@db:3306/livectl',
    })
  })

  it('rejects unknown schemes and a MySQL URL without a database', () => {
    expect(() => resolveCatalogLocation('postgres://x/y', '/d')).toThrow(/Unknown catalog URL/)
    expect(() => resolveCatalogLocation('mysql://root@127.0.0.1:3306', '/d')).toThrow(/needs a database name/)
  })

  it('reports an unreachable MySQL as unavailable, with the password hidden', async () => {
    const error = await openCatalog({url: 'mysql://root:hunter2@127.0.0.1:1/livectl', dataDir: work.dir}).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(ServiceUnavailableError)
    expect((error as Error).message).toMatch(/unavailable \(mysql:\/\/root:\*\*\*@127\.0\.0\.1:1\/livectl\)/)
    expect((error as Error).message).not.toContain('hunter2')
  })
})

describe('migrations', () => {
  it('brings a catalog made before comments had a media time up to date, keeping its comments', async () => {
    const url = `sqlite:${path.join(work.dir, 'old.db')}`
    const old = await openCatalog({url, dataDir: work.dir, migrate: false})
    await new Migrator({db: old.db, provider: migrationProvider('sqlite')}).migrateTo('0001_initial')
    await old.db.insertInto('videos').values({id: 'v', title: 'V', status: 'ready', duration_seconds: 0, package_location: '/v', package_manifest: null, created_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z'}).execute()
    await sql`insert into comments (id, video_id, author, data, created_at) values ('old', 'v', 'ada', 'before', '2026-01-01T00:00:00.000Z')`.execute(old.db)
    await old.close()

    const migrated = await migrateDatabase({db: url, dataDir: work.dir})
    expect(migrated.applied).toEqual(['0002_comment_media_time', '0003_live_ownership', '0004_live_origin', '0005_job_progress'])
    const catalog = await openCatalog({url, dataDir: work.dir})
    try {
      expect((await listComments(catalog, {videoId: 'v'})).comments).toMatchObject([{id: 'old', data: 'before', at: null}])
    } finally {
      await catalog.close()
    }
  })
})

describe('ids', () => {
  it('accepts URL-safe ids only', () => {
    for (const good of ['a', 'talk-2026', 'A_b-9', 'x'.repeat(64)]) expect(isValidId(good), good).toBe(true)
    for (const bad of ['', '../x', 'a/b', 'a b', '-lead', '_lead', 'x'.repeat(65), 'é', 'a.b', 'a\nb']) expect(isValidId(bad), bad).toBe(false)
    expect(() => assertValidId('../etc')).toThrow(UserError)
  })

  it('derives ids from names', () => {
    expect(idFromName('My Talk (2026)')).toBe('my-talk-2026')
    expect(isValidId(idFromName('???'))).toBe(true)
  })
})

const backends = [
  {name: 'SQLite', enabled: true, setup: async () => ({url: `sqlite:${path.join(work.dir, `c-${Date.now()}.db`)}`, drop: async () => undefined})},
  {name: 'MySQL', enabled: runMysqlSuites, setup: createTestDatabase},
]

describe.each(backends.filter((backend) => backend.enabled))('catalog on $name', (backend) => {
  let catalog: Catalog
  let url: string
  let drop: () => Promise<void>

  beforeAll(async () => {
    ;({url, drop} = await backend.setup())
    catalog = await openCatalog({url, dataDir: work.dir})
  })

  afterAll(async () => {
    await catalog?.close()
    await drop?.()
  })

  it('is migrated on open, and migrating again changes nothing', async () => {
    const status = await catalogMigrationStatus(catalog)
    expect(status.pending).toEqual([])
    expect(status.migrations.map((migration) => migration.name)).toEqual(['0001_initial', '0002_comment_media_time', '0003_live_ownership', '0004_live_origin', '0005_job_progress'])
    const again = await migrateDatabase({db: url, dataDir: work.dir})
    expect(again.applied).toEqual([])
    expect((await databaseStatus({db: url, dataDir: work.dir})).pending).toEqual([])
  })

  it('keeps a video\'s creation time when its package is replaced', async () => {
    const first = await upsertVideo(catalog, {id: 'keep', title: 'One', status: 'processing', packageLocation: '/a'})
    const second = await upsertVideo(catalog, {id: 'keep', title: 'Two', status: 'ready', packageLocation: '/b'})
    expect(second).toMatchObject({id: 'keep', title: 'Two', status: 'ready', packageLocation: '/b', createdAt: first.createdAt})
    expect((await getVideo(catalog, 'keep')).package).toBeUndefined()
    await expect(getVideo(catalog, 'nope')).rejects.toThrow(/Unknown video "nope"/)
  })

  it('pages videos newest first without gaps or repeats', async () => {
    for (let index = 0; index < 7; index += 1) await upsertVideo(catalog, {id: `page-${index}`, title: `P${index}`, status: 'ready', packageLocation: '/p'})
    const seen: string[] = []
    let after: string | undefined
    for (;;) {
      const page = await listVideos(catalog, {limit: 3, after})
      seen.push(...page.videos.map((video) => video.id))
      if (!page.next) break
      after = page.next
    }

    expect(new Set(seen).size).toBe(seen.length)
    expect(seen.filter((id) => id.startsWith('page-'))).toEqual(['page-6', 'page-5', 'page-4', 'page-3', 'page-2', 'page-1', 'page-0'])
  })

  it('stores comments exactly, rejects bad ones, and lists them in order', async () => {
    await upsertVideo(catalog, {id: 'talk', title: 'Talk', status: 'ready', packageLocation: '/t'})
    const text = 'Ünïcödé 🎬 <i>html</i> "quoted"'
    await postComment(catalog, {video_id: 'talk', author: 'ada', data: text})
    await postComment(catalog, {video_id: 'talk', author: 'bob', data: 'second'})
    const page = await listComments(catalog, {videoId: 'talk'})
    expect(page.comments.map((comment) => [comment.author, comment.data])).toEqual([['ada', text], ['bob', 'second']])
    await expect(postComment(catalog, {video_id: 'nope', author: 'a', data: 'x'})).rejects.toThrow(/Unknown video "nope"/)
    await expect(postComment(catalog, {video_id: 'talk', author: '', data: 'x'})).rejects.toThrow(/author must be 1 to 100/)
    await expect(postComment(catalog, {video_id: 'talk', author: 'a', data: 'x'.repeat(5001)})).rejects.toThrow(/data must be 1 to 5000/)
  })

  it('stores the media time a comment refers to, and gives each comment its cursor', async () => {
    await upsertVideo(catalog, {id: 'timed', title: 'Timed', status: 'ready', packageLocation: '/t'})
    const {comment} = await postComment(catalog, {video_id: 'timed', author: 'ada', data: 'at 12.5 s', at: 12.5})
    const untimed = (await postComment(catalog, {video_id: 'timed', author: 'bob', data: 'no time'})).comment
    expect(comment).toMatchObject({at: 12.5, cursor: expect.any(String)})
    expect(untimed.at).toBeNull()
    const page = await listComments(catalog, {videoId: 'timed'})
    expect(page.comments).toEqual([comment, untimed])
    // A comment's cursor lists what came after it.
    expect((await listComments(catalog, {videoId: 'timed', after: comment.cursor})).comments).toEqual([untimed])
    await expect(postComment(catalog, {video_id: 'timed', author: 'a', data: 'x', at: -1})).rejects.toThrow(/at must be a number of seconds/)
    // The same id with another media time is a different comment.
    await postComment(catalog, {id: 'timed-1', video_id: 'timed', author: 'a', data: 'x', at: 1})
    await expect(postComment(catalog, {id: 'timed-1', video_id: 'timed', author: 'a', data: 'x', at: 2})).rejects.toThrow(/already used for a different comment/)
    expect((await postComment(catalog, {id: 'timed-1', video_id: 'timed', author: 'a', data: 'x', at: 1})).created).toBe(false)
  })

  it('deletes a video\'s comments with it (foreign key)', async () => {
    await upsertVideo(catalog, {id: 'gone', title: 'Gone', status: 'ready', packageLocation: '/g'})
    await postComment(catalog, {video_id: 'gone', author: 'a', data: 'bye'})
    await catalog.db.deleteFrom('videos').where('id', '=', 'gone').execute()
    expect(await catalog.db.selectFrom('comments').select('id').where('video_id', '=', 'gone').execute()).toEqual([])
  })
})
