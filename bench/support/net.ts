/** HTTP from the benchmark's own process, with Node's client only, and free ports for the servers it starts. */
import http from 'node:http'
import net from 'node:net'

export interface HttpResponse {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

export interface HttpRequestOptions {
  method?: string
  headers?: http.OutgoingHttpHeaders
  body?: string
}

/** One HTTP request with Node's own client: the status and the body as text. */
export function httpRequest(url: string, {method = 'GET', headers = {}, body}: HttpRequestOptions = {}): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, {method, headers}, (response) => {
      let text = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => (text += chunk))
      response.on('end', () => resolve({status: response.statusCode ?? 0, headers: response.headers, body: text}))
      response.on('error', reject)
    })
    request.on('error', reject)
    request.end(body)
  })
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}
