/**
 * Identifiers that reach paths, storage keys and URLs. Validated everywhere they enter: nothing
 * like "../", "/", spaces or control characters gets through.
 */
import {randomBytes} from 'node:crypto'

import {UserError} from '../errors.js'

/** Letters, digits, "-" and "_", starting with a letter or digit, at most 64. */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/

export function isValidId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value)
}

export function assertValidId(value: string, what = 'video id'): string {
  if (!isValidId(value)) {
    throw new UserError(`Invalid ${what} ${JSON.stringify(value)}: use 1-64 letters, digits, "-" or "_", starting with a letter or digit`)
  }

  return value
}

/** A new random URL-safe id: 16 characters of base64url (96 bits). */
export function newId(): string {
  return randomBytes(12).toString('base64url').replace(/^[-_]/, 'v')
}

/** An id from a name: "My Talk (2024)" -> "my-talk-2024". */
export function idFromName(name: string): string {
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 64).replace(/-+$/, '')
  return slug || newId()
}
