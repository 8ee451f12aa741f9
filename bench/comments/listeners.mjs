/**
 * Load generator for bench/comments, in its own process: opens N server-sent-event streams to
 * one URL and records, for every event id, when it arrived on each stream (epoch ms, from this
 * process's high-resolution clock). Prints "ready N" once every stream is open; on "report" on
 * stdin prints {arrivals: {id: [ms, ...]}, errors, repeated} as one JSON line and exits.
 *
 *   node bench/comments/listeners.mjs URL COUNT
 */
import http from 'node:http'
import {performance} from 'node:perf_hooks'
import process from 'node:process'

const [url, countText] = process.argv.slice(2)
const count = Number(countText)
const agent = new http.Agent({keepAlive: false, maxSockets: Number.POSITIVE_INFINITY})
const arrivals = new Map()
let open = 0
let errors = 0
/** An event id a stream was given twice. */
let repeated = 0
const requests = []

function record(id) {
  const at = performance.timeOrigin + performance.now()
  let list = arrivals.get(id)
  if (!list) arrivals.set(id, (list = []))
  list.push(at)
}

for (let index = 0; index < count; index++) {
  const request = http.get(url, {agent, headers: {accept: 'text/event-stream'}}, (response) => {
    if (response.statusCode !== 200) {
      errors++
      response.resume()
      return
    }

    response.setEncoding('utf8')
    let buffer = ''
    let opened = false
    const seen = new Set()
    response.on('data', (chunk) => {
      if (!opened) {
        opened = true
        open++
        if (open === count) process.stdout.write(`ready ${open}\n`)
      }

      buffer += chunk
      let end
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const event = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const id = /^id: ?(.*)$/m.exec(event)?.[1]
        if (id === undefined || !/^event: ?comment$/m.test(event)) continue
        if (seen.has(id)) repeated++
        seen.add(id)
        record(id)
      }
    })
    response.on('error', () => errors++)
  })
  request.on('error', () => errors++)
  requests.push(request)
}

process.stdin.setEncoding('utf8')
process.stdin.on('data', (text) => {
  if (!text.includes('report')) return
  for (const request of requests) request.destroy()
  process.stdout.write(`${JSON.stringify({arrivals: Object.fromEntries(arrivals), errors, repeated, open})}\n`, () => process.exit(0))
})
