/**
 * A plain RTMP relay for bench/live: node-media-server with the same RTMP settings livectl's
 * ingest uses (chunk size, GOP cache), and nothing else: no keys, no transcode, no recording.
 * The plain-ffmpeg packagers pull from it in the runs where livectl is not the ingest.
 *
 *   node bench/live/relay.mjs PORT STATE_DIR      prints "relay listening on rtmp://127.0.0.1:PORT/live" when ready
 */
import {createRequire} from 'node:module'
import process from 'node:process'

const require = createRequire(import.meta.url)
const NodeMediaServer = require('node-media-server')
const logger = require('node-media-server/src/core/logger.js')

const [portText, stateDir] = process.argv.slice(2)
const port = Number(portText)
if (!Number.isInteger(port) || port < 1 || !stateDir) {
  process.stderr.write('Usage: node bench/live/relay.mjs PORT STATE_DIR\n')
  process.exit(2)
}

const nms = new NodeMediaServer({
  bind: '127.0.0.1',
  rtmp: {port, chunk_size: 60_000, gop_cache: true, ping: 30, ping_timeout: 60},
  store: {path: stateDir},
})
logger.level = 'error'
await nms.run()
const server = nms.rtmpServer.tcpServer
if (!server.listening) {
  await new Promise((resolve, reject) => {
    server.once('listening', resolve)
    server.once('error', reject)
  })
}

process.stdout.write(`relay listening on rtmp://127.0.0.1:${port}/live\n`)
const stop = async () => {
  await nms.stop()
  process.exit(0)
}

process.once('SIGTERM', stop)
process.once('SIGINT', stop)
