/**
 * Versioned schema migrations, applied in name order and recorded by kysely's Migrator. Never edit
 * a migration that has shipped: add the next one.
 */
import {type Kysely, sql} from 'kysely'
import type {Migration, MigrationProvider} from 'kysely/migration'

export type Dialect = 'sqlite' | 'mysql'

/** MySQL needs utf8mb4 for emoji and a binary collation so "a" and "A" stay different ids. */
function tableOptions(dialect: Dialect) {
  return dialect === 'mysql' ? sql`engine=InnoDB default charset=utf8mb4 collate=utf8mb4_bin` : sql``
}

function migrations(dialect: Dialect): Record<string, Migration> {
  const longText = dialect === 'mysql' ? 'longtext' : 'text'
  return {
    '0001_initial': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('videos')
          .addColumn('id', 'varchar(64)', (column) => column.primaryKey())
          .addColumn('title', 'varchar(500)', (column) => column.notNull())
          .addColumn('status', 'varchar(16)', (column) => column.notNull())
          .addColumn('duration_seconds', 'double precision', (column) => column.notNull().defaultTo(0))
          .addColumn('package_location', 'varchar(2048)', (column) => column.notNull())
          .addColumn('package_manifest', sql.raw(longText))
          .addColumn('created_at', 'varchar(32)', (column) => column.notNull())
          .addColumn('updated_at', 'varchar(32)', (column) => column.notNull())
          .modifyEnd(tableOptions(dialect))
          .execute()
        await db.schema.createIndex('videos_created_at').on('videos').column('created_at').execute()

        await db.schema
          .createTable('comments')
          .addColumn('seq', dialect === 'mysql' ? 'bigint' : 'integer', (column) => column.primaryKey().autoIncrement())
          .addColumn('id', 'varchar(64)', (column) => column.notNull().unique())
          .addColumn('video_id', 'varchar(64)', (column) => column.notNull().references('videos.id').onDelete('cascade'))
          .addColumn('author', 'varchar(400)', (column) => column.notNull())
          .addColumn('data', 'text', (column) => column.notNull())
          .addColumn('created_at', 'varchar(32)', (column) => column.notNull())
          .modifyEnd(tableOptions(dialect))
          .execute()
        await db.schema.createIndex('comments_video_seq').on('comments').columns(['video_id', 'seq']).execute()

        await db.schema
          .createTable('stream_keys')
          .addColumn('id', 'varchar(64)', (column) => column.primaryKey())
          .addColumn('name', 'varchar(200)', (column) => column.notNull().unique())
          .addColumn('key_hash', 'varchar(64)', (column) => column.notNull().unique())
          .addColumn('created_at', 'varchar(32)', (column) => column.notNull())
          .addColumn('revoked_at', 'varchar(32)')
          .modifyEnd(tableOptions(dialect))
          .execute()
      },
    },
    '0002_comment_media_time': {
      // The media time a comment refers to (seconds), so players can place it on the timeline.
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('comments').addColumn('at_seconds', 'double precision').execute()
      },
    },
    '0003_live_ownership': {
      // Why a video failed, and which ingest node runs (ran) it live: a restarted node closes
      // only the live streams it left behind, never another node's.
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('videos').addColumn('status_reason', 'varchar(2000)').execute()
        await db.schema.alterTable('videos').addColumn('ingest_node', 'varchar(200)').execute()
        await db.schema.createIndex('videos_status_node').on('videos').columns(['status', 'ingest_node']).execute()
      },
    },
    '0004_live_origin': {
      // Where a low-latency live video is served while it is live (the ingest node's origin).
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('videos').addColumn('live_origin_url', 'varchar(2000)').execute()
      },
    },
    '0005_job_progress': {
      // How far a VOD job (transcode, segment, publish) has got, 0..1, while the video is processing.
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('videos').addColumn('progress', 'double precision').execute()
      },
    },
  }
}

export function migrationProvider(dialect: Dialect): MigrationProvider {
  return {getMigrations: async () => migrations(dialect)}
}

