/**
 * The ceiling for comment delivery: the least a server can do to fan a posted comment out to open
 * server-sent-event streams. Plain node:http, no database, no validation, no framework: POST
 * /comment answers 201 and writes the event to every stream at once. bench/comments runs it
 * beside livectl with the same load.
 *
 *   node bench/comments/sse-ceiling.mjs PORT        prints "ceiling listening on http://127.0.0.1:PORT"
 */
import http from 'node:http'
import process from 'node:process'

const streams = new Set()
let seq = 0

const server = http.createServer((request, response) => {
  if (request.method === 'GET' && request.url?.startsWith('/video/comments/stream')) {
    response.writeHead(200, {'content-type': 'text/event-stream', 'cache-control': 'no-cache'})
    response.write('retry: 2000\n\n')
    streams.add(response)
    response.on('close', () => streams.delete(response))
    return
  }

  if (request.method === 'POST' && request.url === '/comment') {
    let body = ''
    request.setEncoding('utf8')
    request.on('data', (chunk) => (body += chunk))
    request.on('end', () => {
      seq++
      const comment = {...JSON.parse(body), id: `c${seq}`, cursor: `c${seq}`, at: null, created_at: new Date().toISOString()}
      const json = JSON.stringify(comment)
      const event = `id: ${comment.cursor}\nevent: comment\ndata: ${json}\n\n`
      for (const stream of streams) stream.write(event)
      response.writeHead(201, {'content-type': 'application/json'})
      response.end(json)
    })
    return
  }

  response.writeHead(404)
  response.end()
})

server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  process.stdout.write(`ceiling listening on http://127.0.0.1:${server.address().port}\n`)
})
process.on('SIGTERM', () => {
  for (const stream of streams) stream.destroy()
  server.close(() => process.exit(0))
})
