import { BlockList, isIP } from 'node:net'
import createError from '@fastify/error'

/** Refused because the caller (its token, its client or its address) is on the blacklist; never says why. */
export const AuthBlockedError = createError<[string]>('AUTH_BLOCKED', '%s is blocked; ask the data-management office', 403)

export type BlockKind = 'principal' | 'client' | 'ip'

/** One live entry as every process holds it in memory. */
export interface BlockEntry {
  id: string
  kind: BlockKind
  /** a token subject, a service client id, or an address or CIDR range in canonical form */
  value: string
  /** principal only: the block holds for tokens of this unit only */
  unit: string | null
  /** epoch milliseconds; null: until lifted */
  expiresAt: number | null
}

export interface AddressRange { address: string, prefix: number, family: 'ipv4' | 'ipv6' }

/**
 * An IPv4 or IPv6 address, or a CIDR range of either, in canonical form (IPv6 compressed and
 * lower-case as RFC 5952 writes it; a full-length prefix dropped). Null when it is neither.
 */
export function parseAddressRange (text: string): AddressRange & { canonical: string } | null {
  const [address = '', prefixText, ...rest] = text.trim().split('/')
  const version = isIP(address)
  // a zone id (fe80::1%eth0) names an interface of one host, not an address others see
  if (version === 0 || rest.length > 0 || address.includes('%')) return null
  const bits = version === 4 ? 32 : 128
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return null
  const prefix = prefixText === undefined ? bits : Number(prefixText)
  if (prefix > bits) return null
  // the WHATWG URL parser serialises an IPv6 host canonically (RFC 5952)
  const canonicalAddress = version === 4 ? address : new URL(`http://[${address}]/`).hostname.slice(1, -1)
  return {
    address: canonicalAddress,
    prefix,
    family: version === 4 ? 'ipv4' : 'ipv6',
    canonical: prefix === bits ? canonicalAddress : `${canonicalAddress}/${prefix}`
  }
}

interface Snapshot {
  /** every live range at once: the fast "no" for almost every request */
  anyAddress: BlockList
  ranges: { entry: BlockEntry, list: BlockList }[]
  principals: Map<string, BlockEntry[]>
  clients: Map<string, BlockEntry[]>
}

const live = (entry: BlockEntry, now: number) => entry.expiresAt === null || entry.expiresAt > now

function compile (entries: readonly BlockEntry[]): Snapshot {
  const snapshot: Snapshot = { anyAddress: new BlockList(), ranges: [], principals: new Map(), clients: new Map() }
  for (const entry of entries) {
    if (entry.kind === 'ip') {
      const range = parseAddressRange(entry.value)
      if (!range) continue // written through parseAddressRange: cannot happen short of a hand edit
      const list = new BlockList()
      list.addSubnet(range.address, range.prefix, range.family)
      snapshot.anyAddress.addSubnet(range.address, range.prefix, range.family)
      snapshot.ranges.push({ entry, list })
    } else {
      const map = entry.kind === 'principal' ? snapshot.principals : snapshot.clients
      map.set(entry.value, [...(map.get(entry.value) ?? []), entry])
    }
  }
  return snapshot
}

/**
 * The blacklist as this process knows it: a snapshot replaced by `replace` (the plugin reloads it
 * every half second), checked in memory on every request. Expiry is checked against the clock on
 * each check, so an entry ends on time even between reloads.
 */
export function createBlocklist () {
  let snapshot = compile([])
  let size = 0
  return {
    replace (entries: readonly BlockEntry[]) {
      snapshot = compile(entries)
      size = entries.length
    },

    get size () { return size },

    /** The live entry that blocks this address (IPv4-mapped IPv6 addresses match IPv4 ranges). */
    address (ip: string, now = Date.now()): BlockEntry | undefined {
      const version = isIP(ip)
      if (version === 0 || snapshot.ranges.length === 0) return undefined
      const family = version === 4 ? 'ipv4' : 'ipv6'
      if (!snapshot.anyAddress.check(ip, family)) return undefined
      return snapshot.ranges.find((r) => live(r.entry, now) && r.list.check(ip, family))?.entry
    },

    /** The live entry that blocks this token holder: its subject (everywhere or in its unit), or its service client. */
    principal (p: { sub: string, unit: string, client?: string }, now = Date.now()): BlockEntry | undefined {
      const bySubject = snapshot.principals.get(p.sub)?.find((e) => live(e, now) && (e.unit === null || e.unit === p.unit))
      if (bySubject) return bySubject
      return p.client === undefined ? undefined : snapshot.clients.get(p.client)?.find((e) => live(e, now))
    }
  }
}

export type Blocklist = ReturnType<typeof createBlocklist>
