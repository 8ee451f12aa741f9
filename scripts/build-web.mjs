/**
 * Completes dist/web after `tsc -p tsconfig.web.json` compiled the page's scripts: copies the
 * stylesheets and the players' scripts (from the installed hls.js and dashjs packages), writes a
 * brotli and a gzip copy of every file (served as they are by @fastify/static), and names the
 * build by a hash of it all (dist/web/build.json), which becomes part of the asset URLs.
 */
import {createHash} from 'node:crypto'
import {copyFile, mkdir, readdir, readFile, writeFile} from 'node:fs/promises'
import {createRequire} from 'node:module'
import path from 'node:path'
import process from 'node:process'
import {fileURLToPath} from 'node:url'
import {brotliCompressSync, constants, gzipSync} from 'node:zlib'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const out = path.join(root, 'dist', 'web')
const require = createRequire(path.join(root, 'package.json'))

/** A package's folder, found from its main entry (dashjs exports no package.json). */
function packageDir(name) {
  let dir = path.dirname(require.resolve(name))
  while (path.basename(dir) !== name.split('/').at(-1)) {
    const parent = path.dirname(dir)
    if (parent === dir) throw new Error(`cannot find the folder of ${name}`)
    dir = parent
  }

  return dir
}

const vendor = [
  [path.join(packageDir('hls.js'), 'dist', 'hls.min.js'), 'vendor/hls.min.js'],
  [path.join(packageDir('dashjs'), 'dist', 'modern', 'umd', 'dash.mediaplayer.min.js'), 'vendor/dash.mediaplayer.min.js'],
]

await mkdir(path.join(out, 'vendor'), {recursive: true})
for (const [from, to] of vendor) await copyFile(from, path.join(out, to))
for (const file of await readdir(path.join(root, 'src', 'web'))) {
  if (file.endsWith('.css')) await copyFile(path.join(root, 'src', 'web', file), path.join(out, file))
}

const files = (await readdir(out, {recursive: true}))
  .filter((file) => /\.(js|css)$/.test(file))
  .sort()
const hash = createHash('sha256')
for (const file of files) {
  const content = await readFile(path.join(out, file))
  hash.update(file).update('\0').update(content)
  await writeFile(path.join(out, `${file}.br`), brotliCompressSync(content, {params: {[constants.BROTLI_PARAM_QUALITY]: 11}}))
  await writeFile(path.join(out, `${file}.gz`), gzipSync(content, {level: 9}))
}

const id = hash.digest('hex').slice(0, 16)
await writeFile(path.join(out, 'build.json'), `${JSON.stringify({id, files})}\n`)
process.stdout.write(`web assets: ${files.length} files, build ${id}\n`)
