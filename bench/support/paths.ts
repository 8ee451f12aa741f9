/**
 * Where the benchmarks run: every command starts from the repository root, and every benchmark
 * writes its own section of BENCHMARKS.md there.
 */
import path from 'node:path'
import {fileURLToPath} from 'node:url'

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const BENCHMARKS_FILE = path.join(REPO_ROOT, 'BENCHMARKS.md')

/** A path relative to the repository root, made absolute. */
export const repoPath = (relative: string): string => path.join(REPO_ROOT, relative)
