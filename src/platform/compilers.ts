import { SerializerSelector } from '@fastify/fast-json-stringify-compiler'
import { Ajv, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'

/**
 * Schema compilers shared by every app this process builds. Route schemas are module constants, so
 * a validator or serializer compiled once serves every later app with the same schema object: the
 * distributed run mode builds several apps in one process, and the test suite builds hundreds, each
 * of which would otherwise compile every route's Ajv validators and fast-json-stringify serializers
 * again (seconds of CPU per app).
 */

/**
 * Body validation never coerces ("12" is not a number and unknown fields are errors); query strings
 * and path parameters are text by nature, so they are coerced to the schema's types.
 */
const make = (coerce: boolean) => addFormats.default(new Ajv({
  removeAdditional: false, useDefaults: true, coerceTypes: coerce ? 'array' : false, allErrors: true, strict: false
}))
let ajv: { strict: Ajv, coercing: Ajv } | undefined

/** Ajv caches what it compiled by schema object, so one pair of instances per process is enough. */
export function validatorCompiler () {
  ajv ??= { strict: make(false), coercing: make(true) }
  const { strict, coercing } = ajv
  return ({ schema, httpPart }: { schema: object, httpPart?: string }): ValidateFunction =>
    (httpPart === 'body' ? strict : coercing).compile(schema)
}

type Serialize = (doc: unknown) => string
type RouteSchema = { schema?: unknown, method?: string, url?: string, httpStatus?: string, contentType?: string }

/** Serializers keyed by the shared schemas they resolve against, then by the response schema object. */
const serializers = new Map<string, WeakMap<object, Serialize>>()

/** Fastify's `compilersFactory.buildSerializer`, memoised per schema object. */
export function buildSerializer (external?: unknown, options?: unknown) {
  const externalSchemas = (external ?? {}) as Record<string, unknown>
  const serializerOpts = (options ?? {}) as object
  const compile = SerializerSelector()(externalSchemas, serializerOpts) as (route: RouteSchema) => Serialize
  // shared schemas are constants too: their ids (and the options) tell the compiled code apart
  const key = JSON.stringify([Object.keys(externalSchemas).sort(), serializerOpts])
  let cache = serializers.get(key)
  if (!cache) serializers.set(key, cache = new WeakMap())
  const byStatus = cache
  return (route: RouteSchema): Serialize => {
    const schema = route.schema as object
    let fn = byStatus.get(schema)
    if (!fn) byStatus.set(schema, fn = compile(route))
    return fn
  }
}
