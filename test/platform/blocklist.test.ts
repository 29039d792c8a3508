import { setTimeout as sleep } from 'node:timers/promises'
import Fastify from 'fastify'
import fp from 'fastify-plugin'
import t from 'tap'
import { createBlocklist, parseAddressRange, type BlockEntry } from '../../src/platform/auth/blocklist.js'
import blocklist from '../../src/platform/auth/blocklist-plugin.js'

const entry = (kind: BlockEntry['kind'], value: string, extra: Partial<BlockEntry> = {}): BlockEntry =>
  ({ id: `${kind}:${value}`, kind, value, unit: null, expiresAt: null, ...extra })

t.test('addresses and ranges, IPv4 and IPv6, in canonical form', async (t) => {
  t.match(parseAddressRange('10.0.0.0/8'), { canonical: '10.0.0.0/8', family: 'ipv4', prefix: 8 })
  t.match(parseAddressRange('10.1.2.3/32'), { canonical: '10.1.2.3' })
  t.match(parseAddressRange(' 2001:DB8:0:0::1 '), { canonical: '2001:db8::1', family: 'ipv6', prefix: 128 })
  t.match(parseAddressRange('2001:db8::/32'), { canonical: '2001:db8::/32' })
  for (const bad of ['', '/8', '10.0.0.0/', '10.0.0.0/33', '10.0.0.0/-1', '010.0.0.1', '10.0.0.0/8/8', '::1/129', 'fe80::1%eth0', 'localhost', '10.0.0.0/ 8']) {
    t.equal(parseAddressRange(bad), null, JSON.stringify(bad))
  }
})

t.test('a snapshot answers from memory, and checks expiry against the clock', async (t) => {
  const list = createBlocklist()
  const now = Date.now()
  list.replace([
    entry('ip', '10.0.0.0/8', { expiresAt: now + 1000 }),
    entry('ip', '2001:db8::/32'),
    entry('principal', 'eve', { unit: 'MATH' }),
    entry('principal', 'mallory'),
    entry('client', 'dgc_x', { expiresAt: now + 1000 })
  ])
  t.equal(list.size, 5)
  t.ok(list.address('10.200.0.1', now))
  t.notOk(list.address('10.200.0.1', now + 1000), 'expired')
  t.notOk(list.address('11.0.0.1', now))
  t.ok(list.address('2001:db8:ffff::1', now))
  t.notOk(list.address('not an address', now))
  t.ok(list.principal({ sub: 'eve', unit: 'MATH' }, now))
  t.notOk(list.principal({ sub: 'eve', unit: 'CS' }, now))
  t.ok(list.principal({ sub: 'mallory', unit: 'CS' }, now))
  t.ok(list.principal({ sub: 'app', unit: 'CS', client: 'dgc_x' }, now))
  t.notOk(list.principal({ sub: 'app', unit: 'CS', client: 'dgc_x' }, now + 1000))
})

t.test('when the database cannot be read, the last snapshot stays and a warning is logged', async (t) => {
  const warnings: string[] = []
  let down = false
  let loads = 0
  const app = Fastify({ logger: false })
  app.log.warn = ((_obj: unknown, msg: string) => { warnings.push(msg) }) as typeof app.log.warn
  await app.register(fp(async (a) => { a.decorate('db', {} as never) }, { name: 'db' }))
  await app.register(blocklist, {
    refreshMs: 20,
    load: async () => {
      loads++
      if (down) throw new Error('connect ECONNREFUSED')
      return [entry('principal', 'mallory')]
    }
  })
  await app.ready()
  t.teardown(() => app.close())
  t.ok(app.blocklist.check.principal({ sub: 'mallory', unit: 'CS' }), 'loaded before the app is ready')
  down = true
  const before = loads
  await sleep(150)
  t.ok(loads > before + 2, 'reloads keep being tried')
  t.ok(app.blocklist.check.principal({ sub: 'mallory', unit: 'CS' }), 'the last snapshot stays in force')
  t.equal(warnings.length, 1, 'one warning, not one per attempt')
  t.match(warnings[0], /could not be reloaded/)
  await app.blocklist.refresh() // never rejects
})
