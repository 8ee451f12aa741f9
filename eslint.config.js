import js from '@eslint/js'
import {createTypeScriptImportResolver} from 'eslint-import-resolver-typescript'
import importX from 'eslint-plugin-import-x'
import tseslint from 'typescript-eslint'

/**
 * The floors of the house, lowest first. A file may import its own floor's folder and the floors
 * below it, never one above: type-only imports included (test/unit/architecture.test.ts also
 * holds that no files import each other in a circle). The watch page (src/web) is a floor of its
 * own that sees only src/shared.
 */
const FLOORS = [
  ['src/shared'],
  // errors, process, files, retry...: what every folder below src/lib uses.
  ['src/lib/*.ts'],
  ['src/lib/storage'],
  ['src/lib/media'],
  ['src/lib/package'],
  ['src/lib/cdn'],
  ['src/lib/catalog'],
  ['src/lib/publish'],
  ['src/lib/jobs'],
  ['src/lib/api'],
  ['src/lib/origin'],
  ['src/lib/ingest'],
  ['src/cli'],
  ['src/commands'],
]
const pathsOf = (floor) => floor.map((folder) => (folder.includes('*') ? folder : `${folder}/**`))
const floorZones = FLOORS.flatMap((floor, index) => {
  const above = FLOORS.slice(index + 1).flatMap(pathsOf).concat('src/web/**')
  return floor.map((target) => ({
    target: target.includes('*') ? target : `${target}/**`,
    from: above,
    message: 'an import from a floor above (the floors are listed in eslint.config.js)',
  }))
})
const webZone = {
  target: 'src/web/**',
  from: ['src/lib/**', 'src/cli/**', 'src/commands/**', 'src/types/**'],
  message: 'the watch page runs in the browser: it shares only src/shared with the server',
}

export default tseslint.config(
  {ignores: ['dist/', 'node_modules/', 'livectl-data/', 'coverage/', '.bench-work/']},
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_'}],
      'no-restricted-imports': ['error', {
        paths: [{name: 'execa', message: 'Only src/lib/process.ts spawns processes.'}],
      }],
    },
  },
  {files: ['src/lib/process.ts'], rules: {'no-restricted-imports': 'off'}},
  {
    files: ['src/lib/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{name: 'execa', message: 'Only src/lib/process.ts spawns processes.'}],
        patterns: [{group: ['@oclif/*'], message: 'src/lib never imports oclif: commands call it with plain options.'}],
      }],
    },
  },
  {files: ['src/lib/process.ts'], rules: {'no-restricted-imports': 'off'}},
  {
    files: ['src/**/*.ts'],
    plugins: {'import-x': importX},
    settings: {'import-x/resolver-next': [createTypeScriptImportResolver({project: ['tsconfig.json', 'tsconfig.web.json'], noWarnOnMultipleProjects: true})]},
    rules: {'import-x/no-restricted-paths': ['error', {zones: [...floorZones, webZone]}]},
  },
  {files: ['bin/*.js'], languageOptions: {globals: {process: 'readonly', URL: 'readonly'}}},
)
