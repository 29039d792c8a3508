import { BlockList, isIP } from 'node:net'
import createError from '@fastify/error'
import { sql, type Kysely } from 'kysely'
import type { Database } from '../../db/database.js'
import { FieldError } from '../errors.js'
import { parseAddressRange } from './blocklist.js'

/** A service client's token, or the token endpoint for it, used from an address not registered for it (004 §11). */
export const AuthAddressNotAllowedError = createError<[string]>('AUTH_ADDRESS_NOT_ALLOWED', '%s', 403)

/** At most this many entries per client: a terminal list, not a routing table. */
export const MAX_ALLOWED_ADDRESSES = 64

/**
 * Validates the addresses and CIDR ranges of a client (400 naming `allowedAddresses.N` for the
 * first bad one) and answers them in canonical form, each once, in the order given.
 */
export function canonicalAddresses (entries: readonly string[], field = 'allowedAddresses'): string[] {
  const out: string[] = []
  entries.forEach((text, i) => {
    const range = parseAddressRange(text)
    if (!range) throw new FieldError(`${field}.${i}`, `"${text.slice(0, 60)}" is not an IPv4 or IPv6 address or CIDR range`)
    if (!out.includes(range.canonical)) out.push(range.canonical)
  })
  return out
}

/** Whether `ip` is one of the ranges (IPv4-mapped IPv6 addresses match IPv4 ranges); no ranges: any address. */
export function addressMatcher (ranges: readonly string[]): (ip: string) => boolean {
  if (ranges.length === 0) return () => true
  const list = new BlockList()
  for (const text of ranges) {
    const range = parseAddressRange(text)
    if (range) list.addSubnet(range.address, range.prefix, range.family)
  }
  return (ip) => {
    const version = isIP(ip)
    return version !== 0 && list.check(ip, version === 4 ? 'ipv4' : 'ipv6')
  }
}

/** The clients that carry addresses, with them: one query, the same for every process. */
export async function restrictedClients (db: Kysely<Database>) {
  return await db.selectFrom('service_clients').select(['client_id', 'allowed_addresses'])
    .where(sql<boolean>`cardinality(allowed_addresses) > 0`)
    .execute()
}

/**
 * Terminal control (终端管控) as this process knows it: the address lists of the clients that have
 * one, compiled once per reload, so that a request pays one Map lookup (and a range check only for
 * a restricted client's token).
 */
export function createTerminalControl () {
  let byClient = new Map<string, (ip: string) => boolean>()
  return {
    replace (rows: readonly { client_id: string, allowed_addresses: string[] }[]) {
      byClient = new Map(rows.map((r) => [r.client_id, addressMatcher(r.allowed_addresses)]))
    },
    get size () { return byClient.size },
    /** true when `client` has addresses and `ip` is none of them */
    refuses (client: string, ip: string): boolean {
      const allowed = byClient.get(client)
      return allowed !== undefined && !allowed(ip)
    }
  }
}

export type TerminalControl = ReturnType<typeof createTerminalControl>
