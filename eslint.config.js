import js from '@eslint/js'
import tseslint from 'typescript-eslint'

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
  {files: ['bin/*.js'], languageOptions: {globals: {process: 'readonly', URL: 'readonly'}}},
)
