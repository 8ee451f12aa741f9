/**
 * The shape of the house. eslint (import-x/no-restricted-paths, eslint.config.js) keeps every
 * import on its floor or below; this holds the other half: no files import each other in a
 * circle, type-only imports included (the lint rule for cycles skips those).
 */
import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {describe, expect, it} from 'vitest'

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src')

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((entry) => {
    const file = path.join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(file)
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [file] : []
  })
}

/** The project files a source file imports (static, dynamic, re-exports; types included). */
export function localImports(file: string, text: string): string[] {
  const found = new Set<string>()
  for (const match of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) {
    const target = path.resolve(path.dirname(file), match[1] as string).replace(/\.js$/, '.ts')
    found.add(target.endsWith('.ts') ? target : `${target}.ts`)
  }

  return [...found]
}

/** Strongly connected components of more than one file, or a file that imports itself (Tarjan). */
export function importCycles(graph: Map<string, string[]>): string[][] {
  let next = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const cycles: string[][] = []
  const visit = (node: string): void => {
    index.set(node, next)
    low.set(node, next)
    next++
    stack.push(node)
    onStack.add(node)
    for (const to of graph.get(node) ?? []) {
      if (!graph.has(to)) continue
      if (!index.has(to)) {
        visit(to)
        low.set(node, Math.min(low.get(node) as number, low.get(to) as number))
      } else if (onStack.has(to)) {
        low.set(node, Math.min(low.get(node) as number, index.get(to) as number))
      }
    }

    if (low.get(node) === index.get(node)) {
      const component: string[] = []
      let member: string
      do {
        member = stack.pop() as string
        onStack.delete(member)
        component.push(member)
      } while (member !== node)
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) cycles.push(component.sort())
    }
  }

  for (const node of graph.keys()) if (!index.has(node)) visit(node)
  return cycles
}

describe('the import graph of src/', () => {
  it('finds a cycle when there is one (the check itself)', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
    ])
    expect(importCycles(graph)).toEqual([['a', 'b', 'c']])
    expect(localImports('/x/src/lib/a.ts', "import type {T} from './b.js'\nexport {u} from '../c.js'\nawait import('./d.js')")).toEqual([
      '/x/src/lib/b.ts',
      '/x/src/c.ts',
      '/x/src/lib/d.ts',
    ])
  })

  it('has no files that import each other, type-only imports included', () => {
    const files = sourceFiles(SRC)
    expect(files.length).toBeGreaterThan(100)
    const graph = new Map(files.map((file) => [file, localImports(file, readFileSync(file, 'utf8'))]))
    const cycles = importCycles(graph).map((cycle) => cycle.map((file) => path.relative(SRC, file)))
    expect(cycles).toEqual([])
  })
})
