// The OpenAPI document as the fuzzer sees it: every operation with its parameters, bodies, roles and
// responses, and a checker that holds a response to what the document declares for it.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import { ROLES, type Role } from '../../../src/platform/auth/roles.js'

export type Schema = Record<string, unknown>

export interface Parameter {
  name: string
  in: 'path' | 'query' | 'header' | 'cookie'
  required: boolean
  style?: string
  schema: Schema
}

export interface Operation {
  method: string
  path: string
  operationId: string
  parameters: Parameter[]
  /** content type → schema and examples of the request body */
  body: { required: boolean, content: Record<string, { schema: Schema, examples: unknown[] }> } | null
  /** null: public (no token needed); [] any authenticated caller; else the roles that may call it */
  roles: Role[] | null
  responses: Record<string, { content: Record<string, Schema> | null }>
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, Record<string, unknown>>>
  components: { schemas: Record<string, Schema> }
}

export const documentFile = join(import.meta.dirname, '../../../openapi/openapi.json')

export function loadDocument (): OpenApiDocument {
  return JSON.parse(readFileSync(documentFile, 'utf8')) as OpenApiDocument
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch']

/** The roles an operation names in its description ("Requires role `a` or `b`."). */
function rolesOf (op: Record<string, unknown>): Role[] | null {
  const security = op.security as unknown[] | undefined
  if (!security || security.length === 0) return null
  const text = String(op.description ?? '')
  const line = /Requires role ([^\n]+)/.exec(text)
  if (!line) return []
  const named = [...line[1]!.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!)
  return ROLES.filter((r) => named.includes(r))
}

function examplesOf (media: Record<string, unknown>): unknown[] {
  if ('example' in media) return [media.example]
  const examples = media.examples as Record<string, { value: unknown }> | undefined
  return examples ? Object.values(examples).map((e) => e.value) : []
}

export function operationsOf (doc: OpenApiDocument): Operation[] {
  const out: Operation[] = []
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method] as Record<string, unknown> | undefined
      if (!op) continue
      const rb = op.requestBody as { required?: boolean, content: Record<string, Record<string, unknown>> } | undefined
      const responses: Operation['responses'] = {}
      for (const [status, response] of Object.entries(op.responses as Record<string, { content?: Record<string, { schema: Schema }> }>)) {
        responses[status] = {
          content: response.content ? Object.fromEntries(Object.entries(response.content).map(([type, m]) => [type, m.schema])) : null
        }
      }
      out.push({
        method: method.toUpperCase(),
        path,
        operationId: String(op.operationId ?? `${method} ${path}`),
        parameters: (op.parameters as Parameter[] | undefined) ?? [],
        body: rb
          ? {
              required: rb.required === true,
              content: Object.fromEntries(Object.entries(rb.content).map(([type, media]) => [type, { schema: media.schema as Schema, examples: examplesOf(media) }]))
            }
          : null,
        roles: rolesOf(op),
        responses
      })
    }
  }
  return out
}

/** Replaces `#/components/...` references with references into the registered document. */
function rebase (schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(rebase)
  if (schema === null || typeof schema !== 'object') return schema
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(schema)) {
    out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `openapi-components${v}` : rebase(v)
  }
  return out
}

const PROBLEM_REF = '#/components/schemas/Problem'

export interface ResponseLike {
  statusCode: number
  headers: Record<string, string | string[] | number | undefined>
  body: string
}

/**
 * Holds responses to the document: a declared status, a declared content type (problem documents
 * where the document declares the Problem schema) and a body valid against the declared schema.
 */
export class ResponseChecker {
  private readonly ajv: Ajv2020
  private readonly cache = new Map<string, ValidateFunction>()

  constructor (doc: OpenApiDocument) {
    this.ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true })
    addFormats.default(this.ajv)
    this.ajv.addSchema({ $id: 'openapi-components', components: rebase(doc.components) } as object)
  }

  private validator (key: string, schema: Schema): ValidateFunction {
    let v = this.cache.get(key)
    if (!v) {
      v = this.ajv.compile(rebase(schema) as object)
      this.cache.set(key, v)
    }
    return v
  }

  /** The problems of this response, none when it keeps to the document. */
  check (op: Operation, res: ResponseLike): string[] {
    const status = String(res.statusCode)
    if (res.statusCode >= 500) return [`server error ${status}: ${res.body.slice(0, 500)}`]
    const declared = op.responses[status]
    if (!declared) return [`undeclared status ${status} (declared: ${Object.keys(op.responses).join(', ')}): ${res.body.slice(0, 300)}`]
    const rawType = res.headers['content-type']
    const type = typeof rawType === 'string' ? rawType.split(';')[0]!.trim().toLowerCase() : undefined
    if (!declared.content) {
      return res.body.length > 0 ? [`status ${status} declares no content, got ${type ?? 'no type'}: ${res.body.slice(0, 200)}`] : []
    }
    if (!type) return [`status ${status}: no content type (declared: ${Object.keys(declared.content).join(', ')})`]
    let schema: Schema | undefined
    let key = `${op.operationId} ${status} ${type}`
    if (type === 'application/problem+json') {
      // the document files every problem under the operation's media types, pointing at Problem
      const entry = Object.values(declared.content).find((s) => s.$ref === PROBLEM_REF)
      if (!entry) return [`status ${status}: a problem document, but the document declares no Problem for it`]
      schema = entry
      key = 'Problem'
    } else {
      schema = declared.content[type]
      if (!schema) return [`status ${status}: undeclared content type ${type} (declared: ${Object.keys(declared.content).join(', ')})`]
      if (schema.$ref === PROBLEM_REF) return [`status ${status}: declared as a problem document, but sent as ${type}`]
    }
    if (schema.type === 'string') return [] // CSV, NDJSON, text: the body is the string
    let body: unknown
    try {
      body = JSON.parse(res.body)
    } catch {
      return [`status ${status}: ${type} body is not JSON: ${res.body.slice(0, 200)}`]
    }
    const validate = this.validator(key, schema)
    if (validate(body)) return []
    const errors = (validate.errors ?? []).slice(0, 5).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`)
    return [`status ${status}: body breaks the declared schema: ${errors.join('; ')}; body: ${res.body.slice(0, 400)}`]
  }
}
