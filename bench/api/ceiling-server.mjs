/**
 * The practical ceilings for bench/api: a bare Fastify server (no logger, plugins, hooks or
 * validation) whose routes answer constants prepared at start-up, so no request does any work of
 * its own beyond what Fastify always does. Whatever the machine and the load generator allow this
 * server is the most a Fastify route answering the same bytes could do in the same conditions.
 *
 *   node bench/api/ceiling-server.mjs --time-body FILE --comment-body FILE
 *
 *   GET  /video/time  200, the bytes of FILE (a real `GET /video/time` response body), as JSON
 *   POST /comment     Fastify parses the JSON body, then 201 with the bytes of FILE (a real `POST /comment` response body)
 *                     and livectl's `idempotent-replayed: false` header
 *   GET  /tiny        200, a constant 51-byte JSON array: the ceiling for a near-empty response, for reference
 *
 * Prints http://127.0.0.1:PORT on stdout when listening; stops on SIGTERM/SIGINT.
 */
import {Buffer} from 'node:buffer'
import {readFileSync} from 'node:fs'
import process from 'node:process'
import {parseArgs} from 'node:util'

import Fastify from 'fastify'

const {values} = parseArgs({options: {'time-body': {type: 'string'}, 'comment-body': {type: 'string'}}})
if (!values['time-body'] || !values['comment-body']) {
  process.stderr.write('Usage: node bench/api/ceiling-server.mjs --time-body FILE --comment-body FILE\n')
  process.exit(2)
}

/** Fastify's own content type for JSON, the one livectl's responses carry. */
const JSON_TYPE = 'application/json; charset=utf-8'
const TIME_BODY = readFileSync(values['time-body'])
const COMMENT_BODY = readFileSync(values['comment-body'])
/** Shaped like a frame of GET /video/time. */
const TINY_BODY = Buffer.from(JSON.stringify([{type: 'video', index: 0, start: 0, duration: 2}]))

const app = Fastify({logger: false})
app.get('/video/time', (_request, reply) => reply.type(JSON_TYPE).send(TIME_BODY))
// The same constant header as livectl's answer, so that the bytes on the wire match too.
app.post('/comment', (_request, reply) => reply.code(201).header('idempotent-replayed', 'false').type(JSON_TYPE).send(COMMENT_BODY))
app.get('/tiny', (_request, reply) => reply.type(JSON_TYPE).send(TINY_BODY))

const url = await app.listen({host: '127.0.0.1', port: 0})
process.stdout.write(`${url}\n`)

const stop = async () => {
  await app.close()
  process.exit(0)
}

process.once('SIGTERM', stop)
process.once('SIGINT', stop)
