/**
 * Checking data livectl did not make itself (job data from Redis, JSON files read back from disk)
 * against a JSON Schema, once, where it enters: what passes is typed by the schema
 * (json-schema-to-ts), what fails is a UserError naming where it came from and what is wrong.
 */
import {Ajv, type ErrorObject} from 'ajv'

import {UserError} from './errors.js'

/** Defaults filled in (`default` in the schema); no type coercion: a string where a number belongs is an error. */
const ajv = new Ajv({useDefaults: true, allErrors: false, strict: false, coerceTypes: false})

/** The first problem ajv found, as a phrase: `segmentDurationSeconds must be >= 0.5`. */
export function describeSchemaError(errors: readonly ErrorObject[] | null | undefined): string {
  const error = errors?.[0]
  if (!error) return 'it does not match the expected shape'
  const where = error.instancePath ? error.instancePath.slice(1).replaceAll('/', '.') : 'the document'
  if (error.keyword === 'additionalProperties') return `${where} has an unknown property "${(error.params as {additionalProperty: string}).additionalProperty}"`
  if (error.keyword === 'enum') return `${where} must be one of ${(error.params as {allowedValues: unknown[]}).allowedValues.map((value) => JSON.stringify(value)).join(', ')}`
  return `${where} ${error.message ?? 'is invalid'}`
}

export interface JsonCheck<T> {
  /** True when the data matches (defaults filled in, in place). */
  matches(data: unknown): data is T
  /** The data, typed, or throws `${source}: PROBLEM` (a UserError, with the hint when given). */
  parse(data: unknown, source: string, hint?: string): T
  /** Why the last `matches` or `parse` failed. */
  problem(): string
}

/**
 * Compiles a schema once; its `parse` fills in defaults (in place) and checks the result. T is the
 * schema's type, `FromSchema<typeof schema>`, named by the caller (inferring it here is too deep for tsc).
 */
export function compileJsonCheck<T>(schema: object): JsonCheck<T> {
  const validate = ajv.compile(schema)
  const check: JsonCheck<T> = {
    matches: (data): data is T => validate(data),
    parse(data, source, hint) {
      if (check.matches(data)) return data
      throw new UserError(`${source}: ${check.problem()}`, hint ? {hint} : {})
    },
    problem: () => describeSchemaError(validate.errors),
  }
  return check
}
