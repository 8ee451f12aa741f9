/**
 * A WebHDFS server faithful to the REST API where livectl relies on it: a NameNode that answers
 * CREATE, APPEND and OPEN with a 307 redirect to a DataNode, MKDIRS/RENAME/DELETE with
 * {"boolean": ...}, GETFILESTATUS, LISTSTATUS, SETXATTR/GETXATTRS, and RemoteException errors.
 * Files live in memory. A test can make the DataNode fail in the middle of a write.
 */
import http from 'node:http'
import type net from 'node:net'

interface Entry {
  type: 'FILE' | 'DIRECTORY'
  data: Buffer
  xattrs: Map<string, string>
  modificationTime: number
}

export interface WebHdfsServer {
  namenode: string
  files: Map<string, Entry>
  users: Set<string>
  /** The next `count` DataNode writes to paths matching `pattern` stop halfway and drop the connection. */
  failWrites(pattern: RegExp, count: number): void
  close(): Promise<void>
}

const remote = (response: http.ServerResponse, status: number, exception: string, message: string) => {
  response.writeHead(status, {'content-type': 'application/json'})
  response.end(JSON.stringify({RemoteException: {exception, javaClassName: `org.apache.hadoop.${exception}`, message}}))
}

const json = (response: http.ServerResponse, body: unknown) => {
  response.writeHead(200, {'content-type': 'application/json'})
  response.end(JSON.stringify(body))
}

export async function startWebHdfs(): Promise<WebHdfsServer> {
  const files = new Map<string, Entry>([['/', {type: 'DIRECTORY', data: Buffer.alloc(0), xattrs: new Map(), modificationTime: Date.now()}]])
  const users = new Set<string>()
  const sockets = new Set<net.Socket>()
  let failing: {pattern: RegExp; count: number} | undefined

  const parentOf = (path: string) => path.slice(0, path.lastIndexOf('/')) || '/'
  const mkdirs = (path: string) => {
    const parts = path.split('/').filter(Boolean)
    for (let index = 1; index <= parts.length; index += 1) {
      const directory = `/${parts.slice(0, index).join('/')}`
      const existing = files.get(directory)
      if (existing?.type === 'FILE') return false
      if (!existing) files.set(directory, {type: 'DIRECTORY', data: Buffer.alloc(0), xattrs: new Map(), modificationTime: Date.now()})
    }

    return true
  }

  const status = (path: string, entry: Entry) => ({
    pathSuffix: path === '/' ? '' : path.slice(path.lastIndexOf('/') + 1),
    type: entry.type,
    length: entry.data.length,
    modificationTime: entry.modificationTime,
    owner: 'livectl',
    group: 'supergroup',
    permission: entry.type === 'FILE' ? '644' : '755',
    replication: entry.type === 'FILE' ? 3 : 0,
    blockSize: 134_217_728,
  })

  const track = (server: http.Server) => server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })

  let datanodePort = 0
  const datanode = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://datanode')
    const path = decodeURIComponent(url.pathname.replace(/^\/webhdfs\/v1/, '')) || '/'
    const op = url.searchParams.get('op')
    if (request.method === 'GET' && op === 'OPEN') {
      const entry = files.get(path)
      if (!entry || entry.type !== 'FILE') return remote(response, 404, 'FileNotFoundException', `File does not exist: ${path}`)
      const offset = Number(url.searchParams.get('offset') ?? 0)
      const length = url.searchParams.has('length') ? Number(url.searchParams.get('length')) : entry.data.length - offset
      response.writeHead(200, {'content-type': 'application/octet-stream'})
      return response.end(entry.data.subarray(offset, offset + length))
    }

    if ((request.method === 'PUT' && op === 'CREATE') || (request.method === 'POST' && op === 'APPEND')) {
      const chunks: Buffer[] = []
      let received = 0
      const expected = Number(request.headers['content-length'] ?? 0)
      const fail = failing && failing.count > 0 && failing.pattern.test(path)
      if (fail && failing) failing.count -= 1
      request.on('data', (chunk: Buffer) => {
        chunks.push(chunk)
        received += chunk.length
        if (fail && received >= expected / 2) {
          // The DataNode dies mid-write: what arrived is kept, as HDFS does after lease recovery.
          files.set(path, {type: 'FILE', data: Buffer.concat(chunks), xattrs: new Map(), modificationTime: Date.now()})
          request.socket.destroy()
        }
      })
      request.on('end', () => {
        if (fail) return
        const data = Buffer.concat(chunks)
        if (op === 'APPEND') {
          const entry = files.get(path)
          if (!entry) return remote(response, 404, 'FileNotFoundException', `File does not exist: ${path}`)
          entry.data = Buffer.concat([entry.data, data])
          response.writeHead(200).end()
          return
        }

        files.set(path, {type: 'FILE', data, xattrs: new Map(), modificationTime: Date.now()})
        response.writeHead(201, {location: `hdfs://127.0.0.1${path}`, 'content-length': '0'})
        response.end()
      })
      return
    }

    remote(response, 400, 'IllegalArgumentException', `Invalid operation ${request.method} ${op} on the DataNode`)
  })

  const namenode = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://namenode')
    if (!url.pathname.startsWith('/webhdfs/v1')) return remote(response, 404, 'IllegalArgumentException', 'Not a WebHDFS path')
    const path = (decodeURIComponent(url.pathname.replace(/^\/webhdfs\/v1/, '')) || '/').replace(/(.)\/$/, '$1')
    const op = (url.searchParams.get('op') ?? '').toUpperCase()
    const user = url.searchParams.get('user.name')
    if (user) users.add(user)
    const entry = files.get(path)
    const redirect = () => {
      const location = new URL(`http://127.0.0.1:${datanodePort}${url.pathname}`)
      location.search = url.search
      location.searchParams.set('namenoderpcaddress', '127.0.0.1:8020')
      request.resume()
      response.writeHead(307, {location: location.toString(), 'content-length': '0'})
      response.end()
    }

    switch (`${request.method} ${op}`) {
      case 'PUT CREATE': {
        if (entry?.type === 'DIRECTORY') return remote(response, 403, 'FileAlreadyExistsException', `${path} is a directory`)
        if (entry && url.searchParams.get('overwrite') !== 'true') return remote(response, 403, 'FileAlreadyExistsException', `${path} already exists`)
        if (!mkdirs(parentOf(path))) return remote(response, 403, 'ParentNotDirectoryException', parentOf(path))
        return redirect()
      }

      case 'POST APPEND':
      case 'GET OPEN': {
        if (!entry || entry.type !== 'FILE') return remote(response, 404, 'FileNotFoundException', `File does not exist: ${path}`)
        return redirect()
      }

      case 'PUT MKDIRS':
        return json(response, {boolean: mkdirs(path)})
      case 'PUT RENAME': {
        const destination = url.searchParams.get('destination') ?? ''
        if (!entry || files.has(destination) || !files.has(parentOf(destination))) return json(response, {boolean: false})
        for (const [key, value] of [...files]) {
          if (key === path || key.startsWith(`${path}/`)) {
            files.delete(key)
            files.set(destination + key.slice(path.length), value)
          }
        }

        return json(response, {boolean: true})
      }

      case 'DELETE DELETE': {
        if (!entry || path === '/') return json(response, {boolean: false})
        for (const key of [...files.keys()]) if (key === path || key.startsWith(`${path}/`)) files.delete(key)
        return json(response, {boolean: true})
      }

      case 'GET GETFILESTATUS':
        if (!entry) return remote(response, 404, 'FileNotFoundException', `File does not exist: ${path}`)
        return json(response, {FileStatus: status(path, entry)})
      case 'GET LISTSTATUS': {
        if (!entry) return remote(response, 404, 'FileNotFoundException', `File ${path} does not exist.`)
        if (entry.type === 'FILE') return json(response, {FileStatuses: {FileStatus: [status(path, entry)]}})
        const prefix = path === '/' ? '/' : `${path}/`
        const children = [...files].filter(([key]) => key !== path && key.startsWith(prefix) && !key.slice(prefix.length).includes('/'))
        return json(response, {FileStatuses: {FileStatus: children.map(([key, value]) => status(key, value))}})
      }

      case 'PUT SETXATTR': {
        if (!entry) return remote(response, 404, 'FileNotFoundException', `File does not exist: ${path}`)
        entry.xattrs.set(url.searchParams.get('xattr.name') ?? '', url.searchParams.get('xattr.value') ?? '')
        response.writeHead(200, {'content-length': '0'})
        return response.end()
      }

      case 'GET GETXATTRS': {
        if (!entry) return remote(response, 404, 'FileNotFoundException', `File does not exist: ${path}`)
        const names = url.searchParams.getAll('xattr.name')
        const selected = [...entry.xattrs].filter(([name]) => names.length === 0 || names.includes(name))
        if (names.length > 0 && selected.length === 0) return remote(response, 403, 'IOException', 'At least one of the attributes provided was not found.')
        return json(response, {XAttrs: selected.map(([name, value]) => ({name, value: `"${value}"`}))})
      }

      default:
        return remote(response, 400, 'IllegalArgumentException', `Invalid value for webhdfs parameter "op": ${op}`)
    }
  })

  track(datanode)
  track(namenode)
  await new Promise<void>((resolve) => datanode.listen(0, '127.0.0.1', resolve))
  datanodePort = (datanode.address() as net.AddressInfo).port
  await new Promise<void>((resolve) => namenode.listen(0, '127.0.0.1', resolve))
  return {
    namenode: `http://127.0.0.1:${(namenode.address() as net.AddressInfo).port}`,
    files,
    users,
    failWrites: (pattern, count) => {
      failing = {pattern, count}
    },
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await Promise.all([new Promise((resolve) => namenode.close(resolve)), new Promise((resolve) => datanode.close(resolve))])
    },
  }
}
