/**
 * Array parameters, the form in which a batch of rows travels to PostgreSQL as columns
 * (`unnest($1::text[], $2::jsonb[], …)`). Through node-postgres an array goes in the binary format
 * of array_recv, which the driver sends as it is: nothing is escaped on this side or parsed as an
 * array literal on the other, and a bytea is its bytes, not hex or base64. Through PGlite (one
 * process, no wire) it goes as a JS array, which PGlite serialises itself.
 */
export interface ArrayParams {
  text (values: readonly (string | null)[]): unknown
  /** values as JSON; null and undefined are SQL nulls */
  jsonb (values: readonly unknown[]): unknown
  bytea (values: readonly (Uint8Array | null | undefined)[]): unknown
}

const TEXT_OID = 25
const BYTEA_OID = 17
const JSONB_OID = 3802
const JSONB_VERSION = 1

/** Kysely instances over node-postgres (create-db.ts registers them) */
const binaryDrivers = new WeakSet<object>()
export const registerBinaryArrays = (db: object) => { binaryDrivers.add(db) }

/** ndim, has-nulls flag, element type, then (for one dimension) its length and lower bound */
function header (out: Buffer, oid: number, length: number, nulls: boolean): number {
  out.writeInt32BE(length === 0 ? 0 : 1, 0)
  out.writeInt32BE(nulls ? 1 : 0, 4)
  out.writeInt32BE(oid, 8)
  if (length === 0) return 12
  out.writeInt32BE(length, 12)
  out.writeInt32BE(1, 16)
  return 20
}

/** Strings as UTF-8 elements, each after `prefix` (jsonb's version byte) when given. */
function binaryStrings (oid: number, values: readonly (string | null)[], prefix?: number): Buffer {
  let capacity = 20
  let nulls = false
  for (const v of values) {
    if (v === null) nulls = true
    else capacity += v.length * 3 + 1 // UTF-8 takes at most 3 bytes per UTF-16 unit
    capacity += 4
  }
  const out = Buffer.allocUnsafe(capacity)
  let at = header(out, oid, values.length, nulls)
  for (const v of values) {
    if (v === null) {
      out.writeInt32BE(-1, at)
      at += 4
      continue
    }
    let end = at + 4
    if (prefix !== undefined) out[end++] = prefix
    end += out.write(v, end, 'utf8')
    out.writeInt32BE(end - at - 4, at)
    at = end
  }
  return out.subarray(0, at)
}

function binaryBytes (values: readonly (Uint8Array | null | undefined)[]): Buffer {
  let capacity = 20
  let nulls = false
  for (const v of values) {
    if (v == null) nulls = true
    else capacity += v.length
    capacity += 4
  }
  const out = Buffer.allocUnsafe(capacity)
  let at = header(out, BYTEA_OID, values.length, nulls)
  for (const v of values) {
    if (v == null) {
      out.writeInt32BE(-1, at)
      at += 4
      continue
    }
    out.writeInt32BE(v.length, at)
    out.set(v, at + 4)
    at += 4 + v.length
  }
  return out.subarray(0, at)
}

const json = (v: unknown) => v === null || v === undefined ? null : JSON.stringify(v)

const binary: ArrayParams = {
  text: (values) => binaryStrings(TEXT_OID, values),
  jsonb: (values) => binaryStrings(JSONB_OID, values.map(json), JSONB_VERSION),
  bytea: (values) => binaryBytes(values)
}

const plain: ArrayParams = {
  text: (values) => values,
  jsonb: (values) => values.map(json),
  bytea: (values) => values.map((v) => v ?? null)
}

/** How `db` (the instance, not a transaction of it) takes array parameters. */
export function arrayParams (db: object): ArrayParams {
  return binaryDrivers.has(db) ? binary : plain
}
