/**
 * The catalog a process shares among its jobs (catalog/shared.ts): opened and migrated once per
 * database, closed once at the end; and queryCatalog, which brings back a schema that went away
 * (what opening the catalog afresh for every write used to do).
 */
import path from 'node:path'

import {sql} from 'kysely'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'

import {queryCatalog} from '../../src/lib/catalog/connection.js'
import {closeSharedCatalogs, sharedCatalog} from '../../src/lib/catalog/shared.js'
import {findVideoWithPackage, writeJobStatus} from '../../src/lib/catalog/videos.js'
import {ServiceUnavailableError} from '../../src/lib/errors.js'
import {makeTempDir} from '../support/media.js'

let work: {dir: string; cleanup: () => Promise<void>}

beforeAll(async () => {
  work = await makeTempDir('livectl-shared-catalog-')
})

afterEach(async () => {
  await closeSharedCatalogs()
})

afterAll(async () => {
  await work?.cleanup()
})

describe('the shared catalog', () => {
  it('is one connection per database, whoever asks, however they name it', async () => {
    const dataDir = path.join(work.dir, 'one')
    const first = await sharedCatalog({dataDir})
    expect(await sharedCatalog({dataDir})).toBe(first)
    expect(await sharedCatalog({db: `sqlite:${path.join(dataDir, 'catalog.db')}`, dataDir: work.dir})).toBe(first)
    expect(await sharedCatalog({dataDir: path.join(work.dir, 'two')})).not.toBe(first)
  })

  it('is opened afresh after closeSharedCatalogs', async () => {
    const dataDir = path.join(work.dir, 'reopened')
    const first = await sharedCatalog({dataDir})
    await closeSharedCatalogs()
    const second = await sharedCatalog({dataDir})
    expect(second).not.toBe(first)
    await queryCatalog(second, (catalog) => writeJobStatus(catalog, {id: 'v', title: 'V', status: 'processing', packageLocation: 'file:///m/v', progress: 0}))
  })

  it('is not remembered when it cannot be opened: the next caller tries again', async () => {
    const options = {db: 'mysql://root@127.0.0.1:1/livectl', dataDir: work.dir}
    await expect(sharedCatalog(options)).rejects.toBeInstanceOf(ServiceUnavailableError)
    await expect(sharedCatalog(options)).rejects.toBeInstanceOf(ServiceUnavailableError)
  })
})

describe('queryCatalog', () => {
  it('migrates again when the tables went away, and does the work', async () => {
    const catalog = await sharedCatalog({dataDir: path.join(work.dir, 'dropped')})
    for (const table of ['comments', 'stream_keys', 'videos', 'kysely_migration', 'kysely_migration_lock']) await sql`drop table ${sql.table(table)}`.execute(catalog.db)
    await queryCatalog(catalog, (open) => writeJobStatus(open, {id: 'back', title: 'Back', status: 'processing', packageLocation: 'file:///m/back', progress: 0.5}))
    expect(await queryCatalog(catalog, (open) => findVideoWithPackage(open, 'back'))).toMatchObject({status: 'processing', progress: 0.5})
  })
})
