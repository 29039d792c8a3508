// Generated requests for one operation of the document: the caller (an allowed role, no token, a
// wrong role, a garbage token), path and query parameters, the body and its content type, Accept.
import fc from 'fast-check'
import type { InjectOptions } from 'fastify'
import { ROLES, type Role } from '../../../src/platform/auth/roles.js'
import { bodyArb, deepObject, hostileString, pollution, valueArb, VERY_DEEP_JSON, type Context, type Known } from './arbitraries.js'
import type { Operation, Parameter } from './document.js'
import { PRINCIPALS, type Principal } from './fixtures.js'

export type Caller =
  | { kind: 'allowed' | 'wrong', principal: Principal }
  | { kind: 'none' }
  | { kind: 'garbage', authorization: string }

export interface FuzzRequest {
  caller: Caller
  method: string
  url: string
  headers: Record<string, string>
  /** the raw body, when there is one */
  payload?: string
}

const GARBAGE_AUTH = [
  'Bearer ',
  'Bearer x.y.z',
  'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiIsInJvbGVzIjpbInN5c3RlbV9hZG1pbiJdfQ.',
  'Basic Zm9vOmJhcg==',
  'bearer \'; drop table units; --',
  `Bearer ${'A'.repeat(8_000)}`
]

const BROKEN_JSON = ['{"a":', '{"__proto__":', '[1,2', 'nul', '\u0000', '{"a":1}{"b":2}', '\ufeff{}', '{"a":"\\ud800"}', '{\'a\':1}']

const principalOf = (role: Role) => fc.constantFrom(...PRINCIPALS[role])

function callerArb (op: Operation): fc.Arbitrary<Caller> {
  const garbage = fc.constantFrom(...GARBAGE_AUTH).map((authorization): Caller => ({ kind: 'garbage', authorization }))
  const none = fc.constant<Caller>({ kind: 'none' })
  const anyone = fc.constantFrom(...ROLES).chain(principalOf).map((principal): Caller => ({ kind: 'allowed', principal }))
  if (op.roles === null) {
    // public: no token mostly; a token or garbage must not change that it works
    return fc.oneof({ arbitrary: none, weight: 8 }, { arbitrary: anyone, weight: 1 }, { arbitrary: garbage, weight: 1 })
  }
  const allowed = op.roles.length === 0 ? [...ROLES] : op.roles
  const wrong = ROLES.filter((r) => !allowed.includes(r))
  const arbs: Array<{ arbitrary: fc.Arbitrary<Caller>, weight: number }> = [
    { arbitrary: fc.constantFrom(...allowed).chain(principalOf).map((principal): Caller => ({ kind: 'allowed', principal })), weight: 16 },
    { arbitrary: none, weight: 1 },
    { arbitrary: garbage, weight: 1 }
  ]
  if (wrong.length > 0) arbs.push({ arbitrary: fc.constantFrom(...wrong).chain(principalOf).map((principal): Caller => ({ kind: 'wrong', principal })), weight: 2 })
  return fc.oneof(...arbs)
}

/** Real values for a path's `code` and `id`, by what the path is about. */
export function knownFor (op: Operation, known: Known, ids: Record<string, string[]>): Known {
  const out: Known = { ...known }
  if (op.path.startsWith('/api/v1/units/')) out.code = known.unit ?? []
  else if (op.path.includes('/datasets/{code}')) out.code = known.dataset ?? []
  const prefix = Object.keys(ids).find((p) => op.path.startsWith(p))
  if (prefix) out.id = ids[prefix]!
  return out
}

/** A path segment: never empty, never a dot segment (those never reach the route as a value). */
function pathValueArb (p: Parameter, ctx: Context): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: valueArb(p.schema, ctx, 0, p.name).map(String), weight: 6 },
    { arbitrary: hostileString, weight: 3 }
  ).map((v) => (v === '' || v === '.' || v === '..' ? 'x' : v))
}

function asQueryValues (v: unknown): string[] {
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x)))
  if (typeof v === 'string') return [v]
  if (typeof v === 'number' && Object.is(v, -0)) return ['-0']
  return [JSON.stringify(v) ?? '']
}

/** `where[field]=v` and `where[field][op]=v`, as the deepObject style spells them. */
function deepObjectPairs (name: string, v: unknown): Array<[string, string]> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return asQueryValues(v).map((s) => [name, s])
  const out: Array<[string, string]> = []
  for (const [k, inner] of Object.entries(v)) {
    if (inner !== null && typeof inner === 'object' && !Array.isArray(inner)) {
      for (const [o, x] of Object.entries(inner)) for (const s of asQueryValues(x)) out.push([`${name}[${k}][${o}]`, s])
    } else {
      for (const s of asQueryValues(inner)) out.push([`${name}[${k}]`, s])
    }
  }
  return out
}

function queryArb (params: Parameter[], ctx: Context): fc.Arbitrary<Array<[string, string]>> {
  const parts = params.map((p) => {
    const value: fc.Arbitrary<Array<[string, string]>> = fc.oneof(
      { arbitrary: valueArb(p.schema, ctx, 0, p.name).map((v) => (p.style === 'deepObject' ? deepObjectPairs(p.name, v) : asQueryValues(v).map((s): [string, string] => [p.name, s]))), weight: 6 },
      { arbitrary: hostileString.map((s): Array<[string, string]> => [[p.name, s]]), weight: 2 },
      // the same parameter twice, or a deepObject parameter given flat
      { arbitrary: fc.tuple(hostileString, hostileString).map(([a, b]): Array<[string, string]> => [[p.name, a], [p.name, b]]), weight: 1 }
    )
    // a required parameter is left out now and then; an optional one half the time
    return p.required
      ? fc.oneof({ arbitrary: value, weight: 12 }, { arbitrary: fc.constant([]), weight: 1 })
      : fc.oneof(value, fc.constant([]))
  })
  const extra = fc.oneof(
    { arbitrary: fc.constant<Array<[string, string]>>([]), weight: 8 },
    { arbitrary: fc.constantFrom<[string, string]>(['__proto__[polluted]', 'yes'], ['constructor[prototype][polluted]', 'yes'], ['unknown', '1'], ['limit', '1e308']).map((pair) => [pair]), weight: 1 }
  )
  return fc.tuple(fc.tuple(...parts), extra).map(([ps, e]) => [...ps.flat(), ...e])
}

function serialize (contentType: string, value: unknown): string {
  if (contentType === 'application/x-www-form-urlencoded') {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return typeof value === 'string' ? value : JSON.stringify(value) ?? ''
    const form = new URLSearchParams()
    for (const [k, v] of Object.entries(value)) form.append(k, typeof v === 'string' ? v : JSON.stringify(v) ?? '')
    return form.toString()
  }
  if (contentType === 'application/x-ndjson') {
    return Array.isArray(value) ? value.map((v) => JSON.stringify(v) ?? 'null').join('\n') : JSON.stringify(value) ?? ''
  }
  if (contentType === 'text/csv') {
    if (typeof value === 'string') return value
    if (value !== null && typeof value === 'object' && typeof (value as { csv?: unknown }).csv === 'string') return (value as { csv: string }).csv
    return JSON.stringify(value) ?? ''
  }
  return JSON.stringify(value) ?? ''
}

interface Body { contentType?: string, payload?: string }

function bodyFor (op: Operation, ctx: Context): fc.Arbitrary<Body> {
  if (!op.body) return fc.constant({})
  const types = Object.keys(op.body.content)
  const declared = fc.constantFrom(...types).chain((type) => {
    const media = op.body!.content[type]!
    return bodyArb(media.schema, media.examples, ctx).map((v): Body => ({ contentType: type, payload: serialize(type, v) }))
  })
  return fc.oneof(
    { arbitrary: declared, weight: 30 },
    // malformed JSON under a declared type
    { arbitrary: fc.tuple(fc.constantFrom(...types), fc.constantFrom(...BROKEN_JSON)).map(([contentType, payload]): Body => ({ contentType, payload })), weight: 2 },
    // an undeclared content type, or none at all
    { arbitrary: fc.constantFrom('text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', 'application/x-www-form-urlencoded').map((contentType): Body => ({ contentType, payload: '{"a":1}' })), weight: 2 },
    { arbitrary: fc.constant<Body>({}), weight: 1 },
    // deep nesting and pollution keys as the whole body
    { arbitrary: fc.constantFrom(JSON.stringify(deepObject()), JSON.stringify(pollution()), VERY_DEEP_JSON).map((payload): Body => ({ contentType: types[0]!, payload })), weight: 1 },
    // over the body limit (1 MiB)
    { arbitrary: fc.constant<Body>({ contentType: types[0]!, payload: JSON.stringify({ x: 'a'.repeat(1_100_000) }) }), weight: 1 }
  )
}

function acceptArb (op: Operation): fc.Arbitrary<string | undefined> {
  const types = new Set<string>()
  for (const r of Object.values(op.responses)) for (const t of Object.keys(r.content ?? {})) types.add(t)
  return fc.option(fc.constantFrom(...types, '*/*', 'application/xml', 'text/html;q=0.9, */*;q=0.1'), { nil: undefined, freq: 3 })
}

function encodeSegment (v: string): string {
  try {
    return encodeURIComponent(v)
  } catch {
    // a lone surrogate: percent-encode its UTF-16 unit as the broken bytes a client might send
    return [...v].map((c) => { try { return encodeURIComponent(c) } catch { return '%ED%A0%80' } }).join('')
  }
}

export function requestArb (op: Operation, ctx: Context): fc.Arbitrary<FuzzRequest> {
  const pathParams = op.parameters.filter((p) => p.in === 'path')
  const queryParams = op.parameters.filter((p) => p.in === 'query')
  const pathArb = fc.tuple(...pathParams.map((p) => pathValueArb(p, ctx)))
  return fc.record({
    caller: callerArb(op),
    path: pathArb,
    query: queryArb(queryParams, ctx),
    body: bodyFor(op, ctx),
    accept: acceptArb(op)
  }).map(({ caller, path, query, body, accept }) => {
    let url = op.path
    pathParams.forEach((p, i) => { url = url.replace(`{${p.name}}`, encodeSegment(path[i]!)) })
    if (query.length > 0) url += '?' + query.map(([k, v]) => `${encodeSegment(k)}=${encodeSegment(v)}`).join('&')
    const headers: Record<string, string> = {}
    if (accept) headers.accept = accept
    if (body.contentType) headers['content-type'] = body.contentType
    return { caller, method: op.method, url, headers, ...(body.payload !== undefined ? { payload: body.payload } : {}) }
  })
}

/** The inject options of a request, with the caller's token made by `token`. */
export function injectOptions (r: FuzzRequest, token: (p: Principal) => string): InjectOptions {
  const headers = { ...r.headers }
  if (r.caller.kind === 'allowed' || r.caller.kind === 'wrong') headers.authorization = `Bearer ${token(r.caller.principal)}`
  if (r.caller.kind === 'garbage') headers.authorization = r.caller.authorization
  return { method: r.method as InjectOptions['method'], url: r.url, headers, ...(r.payload !== undefined ? { payload: r.payload } : {}) }
}

/** A request as a short, readable line for failure reports (long values cut). */
export function describe (r: FuzzRequest): string {
  const cut = (s: string) => (s.length > 300 ? `${s.slice(0, 300)}…(${s.length} chars)` : s)
  const who = r.caller.kind === 'allowed' || r.caller.kind === 'wrong' ? `${r.caller.kind} ${r.caller.principal.role}@${r.caller.principal.unit}/${r.caller.principal.sub}` : r.caller.kind
  return `${r.method} ${cut(r.url)} as ${who} headers=${JSON.stringify(r.headers)}${r.payload !== undefined ? ` body=${JSON.stringify(cut(r.payload))}` : ''}`
}
