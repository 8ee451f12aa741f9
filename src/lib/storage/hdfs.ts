/**
 * HDFS over WebHDFS, with a small typed client on fetch instead of the `webhdfs` package, whose
 * silent failures could lose data (docs/hdfs.md): here every CREATE must be redirected to a
 * DataNode and answered 201, every MKDIRS/RENAME/DELETE must answer {"boolean": true}, and
 * RemoteException bodies become errors. Files are written under a temporary name, tagged with
 * their SHA-256 (xattr user.livectl.sha256), then renamed into place.
 */
import {randomBytes} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {Readable} from 'node:stream'

import {ExternalError, UserError} from '../errors.js'
import {closeFileStream} from '../files.js'
import {connectionError} from '../system-errors.js'
import {assertSafeKey, type ObjectInfo, type PutOptions, type PutResult, type Storage} from './storage.js'

export interface HdfsOptions {
  /** http://namenode:port (the WebHDFS HTTP port). */
  namenode: string
  /** Directory all keys live under. */
  root: string
  /** user.name for simple authentication. */
  user?: string
  /** A delegation token (Kerberos-secured clusters), sent as `delegation=`. */
  delegationToken?: string
}

const SHA_XATTR = 'user.livectl.sha256'

interface FileStatus {
  pathSuffix: string
  type: 'FILE' | 'DIRECTORY'
  length: number
  /** Milliseconds since the epoch. */
  modificationTime?: number
}

export class HdfsStorage implements Storage {
  readonly uri: string

  constructor(private readonly options: HdfsOptions) {
    this.uri = `hdfs://${new URL(options.namenode).host}${options.root}`
  }

  private pathOf(key: string): string {
    return `${this.options.root.replace(/\/$/, '')}/${assertSafeKey(key)}`
  }

  private url(path: string, op: string, params: Record<string, string> = {}): string {
    const url = new URL(`/webhdfs/v1${path.split('/').map(encodeURIComponent).join('/')}`, this.options.namenode)
    url.searchParams.set('op', op)
    if (this.options.delegationToken) url.searchParams.set('delegation', this.options.delegationToken)
    else if (this.options.user) url.searchParams.set('user.name', this.options.user)
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value)
    return url.toString()
  }

  /** fetch, with a NameNode or DataNode that does not answer said in words (and retryable). */
  private async request(url: string, init?: RequestInit): Promise<Response> {
    try {
      return await fetch(url, init)
    } catch (error) {
      if (init?.signal?.aborted) throw error
      const host = new URL(url).host
      // fetch refuses the ports browsers block (1, 22, 25...) before connecting.
      if ((error as {cause?: {message?: string}}).cause?.message === 'bad port') throw new UserError(`Cannot use WebHDFS at ${host}: that port is one fetch refuses to connect to`, {hint: 'Use the NameNode\'s HTTP port (usually 9870).'})
      throw connectionError(error, 'WebHDFS', host) ?? error
    }
  }

  private async fail(response: Response, what: string): Promise<never> {
    const text = await response.text().catch(() => '')
    let detail = text.slice(0, 300)
    try {
      const remote = (JSON.parse(text) as {RemoteException?: {exception?: string; message?: string}}).RemoteException
      if (remote) detail = `${remote.exception}: ${remote.message}`
    } catch {
      // Not JSON: keep the text.
    }

    throw new ExternalError(`WebHDFS ${what} failed with HTTP ${response.status}: ${detail}`, {retryable: response.status >= 500 || response.status === 429})
  }

  private async json<T>(method: string, url: string, what: string): Promise<T> {
    const response = await this.request(url, {method, redirect: 'follow'})
    if (!response.ok) await this.fail(response, what)
    return (await response.json()) as T
  }

  /** MKDIRS, RENAME and DELETE answer {"boolean": false} instead of an error status; treat that as failure. */
  private async mustBeTrue(method: string, url: string, what: string): Promise<void> {
    const body = await this.json<{boolean?: boolean}>(method, url, what)
    if (body.boolean !== true) throw new ExternalError(`WebHDFS ${what} was refused ({"boolean": false})`)
  }

  async putFile(key: string, file: string, options: PutOptions, signal?: AbortSignal): Promise<PutResult> {
    const target = this.pathOf(key)
    const directory = target.slice(0, target.lastIndexOf('/')) || '/'
    const temporary = `${directory}/.${target.slice(directory.length + 1)}.tmp-${randomBytes(4).toString('hex')}`
    await this.mustBeTrue('PUT', this.url(directory, 'MKDIRS'), `MKDIRS ${directory}`)

    // Step 1: the NameNode must redirect to a DataNode. A 201 without a redirect would mean nothing was written.
    const create = await this.request(this.url(temporary, 'CREATE', {overwrite: 'true'}), {method: 'PUT', redirect: 'manual', signal})
    const location = create.headers.get('location')
    if (create.status !== 307 || !location) {
      if (create.status >= 400) await this.fail(create, `CREATE ${key}`)
      throw new ExternalError(`WebHDFS CREATE ${key}: the NameNode answered ${create.status} without redirecting to a DataNode; nothing was written`)
    }

    // Closed here on every path: a DataNode that answers before reading it all (or a reset) would leave it open.
    const body = createReadStream(file)
    try {
      // Step 2: stream the file to the DataNode; it must answer 201 Created.
      const written = await this.request(location, {
        method: 'PUT',
        body: Readable.toWeb(body) as ReadableStream,
        headers: {'content-type': 'application/octet-stream', 'content-length': String(options.sizeBytes)},
        duplex: 'half',
        signal,
      } as RequestInit)
      if (written.status !== 201) await this.fail(written, `write of ${key} to the DataNode`)
      const status = await this.status(temporary)
      if (status?.length !== options.sizeBytes) {
        throw new ExternalError(`WebHDFS write of ${key} is incomplete: ${status?.length ?? 0} of ${options.sizeBytes} bytes stored`, {retryable: true})
      }

      // SETXATTR answers an empty 200.
      const tagged = await this.request(this.url(temporary, 'SETXATTR', {'xattr.name': SHA_XATTR, 'xattr.value': options.sha256, flag: 'CREATE'}), {method: 'PUT'})
      if (!tagged.ok) await this.fail(tagged, `SETXATTR ${key}`)
      await tagged.body?.cancel()
      // RENAME never replaces an existing file: remove the old one first (a re-publish of a changed manifest).
      if (await this.status(target)) await this.mustBeTrue('DELETE', this.url(target, 'DELETE'), `DELETE ${key}`)
      await this.mustBeTrue('PUT', this.url(temporary, 'RENAME', {destination: target}), `RENAME ${key}`)
      return {}
    } catch (error) {
      await this.request(this.url(temporary, 'DELETE'), {method: 'DELETE'}).catch(() => undefined)
      throw error
    } finally {
      await closeFileStream(body)
    }
  }

  private async status(path: string): Promise<FileStatus | undefined> {
    const response = await this.request(this.url(path, 'GETFILESTATUS'))
    if (response.status === 404) return undefined
    if (!response.ok) await this.fail(response, `GETFILESTATUS ${path}`)
    return ((await response.json()) as {FileStatus: FileStatus}).FileStatus
  }

  async get(key: string, range?: {start: number; end: number}): Promise<Readable> {
    const params: Record<string, string> = range ? {offset: String(range.start), length: String(range.end - range.start + 1)} : {}
    const response = await this.request(this.url(this.pathOf(key), 'OPEN', params), {redirect: 'follow'})
    if (!response.ok || !response.body) await this.fail(response, `OPEN ${key}`)
    return Readable.fromWeb(response.body as never)
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const path = this.pathOf(key)
    const status = await this.status(path)
    if (!status || status.type !== 'FILE') return undefined
    const response = await this.request(this.url(path, 'GETXATTRS', {'xattr.name': SHA_XATTR, encoding: 'text'}))
    let sha256: string | undefined
    if (response.ok) {
      const body = (await response.json()) as {XAttrs?: Array<{name: string; value: string}>}
      sha256 = body.XAttrs?.find((xattr) => xattr.name === SHA_XATTR)?.value?.replace(/^"|"$/g, '')
    }

    return {key, sizeBytes: status.length, sha256, ...(status.modificationTime ? {modified: new Date(status.modificationTime)} : {})}
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const root = this.options.root.replace(/\/$/, '')
    const walk = async function* (this: HdfsStorage, relative: string): AsyncIterable<ObjectInfo> {
      const response = await this.request(this.url(`${root}/${relative}`.replace(/\/$/, '') || '/', 'LISTSTATUS'))
      if (response.status === 404) return
      if (!response.ok) await this.fail(response, `LISTSTATUS ${relative}`)
      const statuses = ((await response.json()) as {FileStatuses: {FileStatus: FileStatus[]}}).FileStatuses.FileStatus
      for (const status of statuses.sort((a, b) => a.pathSuffix.localeCompare(b.pathSuffix))) {
        if (status.pathSuffix.startsWith('.')) continue
        const key = relative ? `${relative}/${status.pathSuffix}` : status.pathSuffix
        if (status.type === 'DIRECTORY') {
          if (prefix.startsWith(`${key}/`) || key.startsWith(prefix)) yield* walk.call(this, key)
        } else if (key.startsWith(prefix)) {
          yield {key, sizeBytes: status.length}
        }
      }
    }

    yield* walk.call(this, '')
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      const response = await this.request(this.url(this.pathOf(key), 'DELETE'), {method: 'DELETE'})
      if (!response.ok) await this.fail(response, `DELETE ${key}`)
    }
  }
}
