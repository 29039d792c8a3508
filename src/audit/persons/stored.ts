/**
 * How the trace stores a person's digest (migrations/0026): the keyed digest truncated to its first
 * 16 bytes (HMAC truncated to 128 bits), and, as the key of the GIN index, its first four bytes as a
 * signed big-endian integer. A lookup compares the whole 16 bytes: a shared prefix never matches.
 */
export const STORED_DIGEST_BYTES = 16

/** The index key of a digest. */
export const tracePrefix = (digest: Buffer): number => digest.readInt32BE(0)

/** Throws unless every digest has the bytes the trace stores (the audit writer checks an event's persons alone, before its batch). */
export function checkDigests (digests: readonly Buffer[]): void {
  const short = digests.find((d) => d.length < STORED_DIGEST_BYTES)
  if (short) throw new RangeError(`a person digest has ${STORED_DIGEST_BYTES} bytes at least, not ${short.length}`)
}

/** The stored form of one digest. */
export function storedDigest (digest: Buffer): Buffer {
  checkDigests([digest])
  return digest.subarray(0, STORED_DIGEST_BYTES)
}

/** The stored forms of an event's digests (checked by checkDigests), concatenated in order. */
export function storedDigests (digests: readonly Buffer[]): Buffer {
  const out = Buffer.allocUnsafe(digests.length * STORED_DIGEST_BYTES)
  // byte by byte: a native copy per 16 bytes costs more than the copy
  digests.forEach((d, i) => {
    for (let j = 0; j < STORED_DIGEST_BYTES; j++) out[i * STORED_DIGEST_BYTES + j] = d[j]!
  })
  return out
}

/** The index keys of an event's digests, as a PostgreSQL array literal. */
export const tracePrefixes = (digests: readonly Buffer[]): string => `{${digests.map(tracePrefix).join(',')}}`
