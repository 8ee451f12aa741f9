/**
 * Stream keys: shown once at creation, stored only as SHA-256 hashes. A push to
 * rtmp://HOST:PORT/live/KEY is accepted only while its key is active.
 */
import {createHash, randomBytes, timingSafeEqual} from 'node:crypto'

import type {Catalog} from '../catalog/connection.js'
import {newId} from '../catalog/ids.js'
import {UserError} from '../errors.js'

export interface StreamKeyInfo {
  id: string
  name: string
  createdAt: string
  revokedAt: string | null
}

export interface CreatedStreamKey extends StreamKeyInfo {
  /** The key itself: shown once, never stored. */
  key: string
}

const KEY_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/

export function hashStreamKey(key: string): string {
  return createHash('sha256').update(key).digest('hex')
}

function assertKeyName(name: string): string {
  if (!KEY_NAME_PATTERN.test(name)) throw new UserError(`Invalid key name ${JSON.stringify(name)}: use 1-64 letters, digits, "-" or "_"`)
  return name
}

export async function createStreamKey(catalog: Catalog, name: string): Promise<CreatedStreamKey> {
  assertKeyName(name)
  const existing = await catalog.db.selectFrom('stream_keys').select('id').where('name', '=', name).executeTakeFirst()
  if (existing) throw new UserError(`A stream key named "${name}" already exists`, {hint: 'Revoke it first, or choose another name.'})
  // 192 bits, URL-safe: it travels in the RTMP path.
  const key = randomBytes(24).toString('base64url')
  const row = {id: newId(), name, key_hash: hashStreamKey(key), created_at: new Date().toISOString(), revoked_at: null}
  await catalog.db.insertInto('stream_keys').values(row).execute()
  return {id: row.id, name, createdAt: row.created_at, revokedAt: null, key}
}

export async function listStreamKeys(catalog: Catalog): Promise<StreamKeyInfo[]> {
  const rows = await catalog.db.selectFrom('stream_keys').select(['id', 'name', 'created_at', 'revoked_at']).orderBy('created_at').orderBy('name').execute()
  return rows.map((row) => ({id: row.id, name: row.name, createdAt: row.created_at, revokedAt: row.revoked_at}))
}

export async function revokeStreamKey(catalog: Catalog, name: string): Promise<StreamKeyInfo> {
  assertKeyName(name)
  const row = await catalog.db.selectFrom('stream_keys').select(['id', 'name', 'created_at', 'revoked_at']).where('name', '=', name).executeTakeFirst()
  if (!row) throw new UserError(`No stream key named "${name}"`)
  const revokedAt = row.revoked_at ?? new Date().toISOString()
  if (!row.revoked_at) await catalog.db.updateTable('stream_keys').set({revoked_at: revokedAt}).where('id', '=', row.id).execute()
  return {id: row.id, name: row.name, createdAt: row.created_at, revokedAt}
}

export type ActiveKeys = Map<string, {id: string; name: string}>

/**
 * The active key a pushed key is, compared in constant time: its SHA-256 against every active
 * key's, all of them, with timingSafeEqual (no early exit, no hash-table probe on the secret's digest).
 */
export function findActiveKey(keys: ActiveKeys, pushedKey: string): {id: string; name: string} | undefined {
  const pushed = Buffer.from(hashStreamKey(pushedKey), 'hex')
  let found: {id: string; name: string} | undefined
  for (const [hash, key] of keys) {
    const stored = Buffer.from(hash, 'hex')
    if (stored.length === pushed.length && timingSafeEqual(stored, pushed)) found = key
  }

  return found
}

/** Active keys by hash, for the synchronous check when a push starts. */
export async function loadActiveKeys(catalog: Catalog): Promise<ActiveKeys> {
  const rows = await catalog.db.selectFrom('stream_keys').select(['id', 'name', 'key_hash']).where('revoked_at', 'is', null).execute()
  return new Map(rows.map((row) => [row.key_hash, {id: row.id, name: row.name}]))
}
