/**
 * Request types come from the route schemas (json-schema-to-ts): `request.query`, `params` and
 * `body` are typed by what validation lets through, with no casts. Responses are checked by the
 * serializer at run time, not typed: their schemas point at shared ones (`$ref: 'Comment#'`).
 */
import type {FastifyPluginAsync, FastifyTypeProvider, RawServerDefault} from 'fastify'
import type {FromSchema, JSONSchema} from 'json-schema-to-ts'

export interface SchemaTypeProvider extends FastifyTypeProvider {
  validator: this['schema'] extends JSONSchema ? FromSchema<this['schema']> : unknown
  serializer: unknown
}

/** A route module: a Fastify plugin whose requests are typed by their schemas. */
export type RouteModule<Options extends Record<string, unknown>> = FastifyPluginAsync<Options, RawServerDefault, SchemaTypeProvider>
