#!/usr/bin/env node
import {execute} from '@oclif/core'

// livectl pins an AWS SDK release that supports Node 20; its notice about later releases is not for our users.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

await execute({dir: import.meta.url})
