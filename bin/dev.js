#!/usr/bin/env node
// Development entry: recompiles src/ and runs it. The oclif manifest is removed so that commands
// and flags are read from the fresh build (a stale manifest would hide a new one); `npm run build`
// regenerates it. Users run bin/run.js.
import {spawnSync} from 'node:child_process'
import process from 'node:process'
import {rmSync} from 'node:fs'
import {fileURLToPath, URL} from 'node:url'

import {execute} from '@oclif/core'

const root = fileURLToPath(new URL('..', import.meta.url))
const compiled = spawnSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}tsconfig.build.json`], {stdio: 'inherit'})
if (compiled.status !== 0) process.exit(compiled.status ?? 1)
rmSync(`${root}oclif.manifest.json`, {force: true})
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

await execute({dir: import.meta.url})
