/**
 * An HTTP proxy in front of a test server that records every request and injects faults on demand:
 * error statuses, connection resets, slow responses. The test decides which requests fail.
 */
import http from 'node:http'
import type net from 'node:net'

export type Fault = {kind: 'status'; status: number} | {kind: 'reset'} | {kind: 'delay'; ms: number}

export interface ProxiedRequest {
  method: string
  url: string
  fault?: Fault['kind']
}

export interface FaultProxy {
  url: string
  log: ProxiedRequest[]
  /** Decides the fault for each request (by its number, from 0, and its method and URL). */
  setFaults(decide: ((request: {index: number; method: string; url: string}) => Fault | undefined) | undefined): void
  close(): Promise<void>
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target)
  const log: ProxiedRequest[] = []
  let decide: ((request: {index: number; method: string; url: string}) => Fault | undefined) | undefined
  const sockets = new Set<net.Socket>()

  const server = http.createServer((request, response) => {
    const index = log.length
    const method = request.method ?? 'GET'
    const url = request.url ?? '/'
    const fault = decide?.({index, method, url})
    log.push({method, url, fault: fault?.kind})
    if (fault?.kind === 'reset') {
      request.socket.destroy()
      return
    }

    if (fault?.kind === 'status') {
      request.resume()
      request.on('end', () => {
        response.writeHead(fault.status, {'content-type': 'application/xml'})
        response.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${fault.status === 503 ? 'SlowDown' : 'InternalError'}</Code><Message>injected</Message></Error>`)
      })
      return
    }

    const forward = () => {
      const outgoing = http.request({host: upstream.hostname, port: upstream.port, method, path: url, headers: request.headers}, (reply) => {
        response.writeHead(reply.statusCode ?? 502, reply.headers)
        reply.pipe(response)
      })
      outgoing.on('error', () => response.destroy())
      request.pipe(outgoing)
    }

    if (fault?.kind === 'delay') setTimeout(forward, fault.ms)
    else forward()
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as net.AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    setFaults: (next) => {
      decide = next
    },
    close: () => new Promise((resolve) => {
      for (const socket of sockets) socket.destroy()
      server.close(() => resolve())
    }),
  }
}
