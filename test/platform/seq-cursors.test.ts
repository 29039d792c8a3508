// Every list whose pages are keyed by a bigint sequence number reads its cursor as one: a cursor that
// decodes but holds anything else (a forged one) is the 400 naming `cursor`, never a database error
// (it was compared with the bigint column as text, and PostgreSQL refused the cast: a 500).
import t from 'tap'
import type { Role } from '../../src/platform/auth/roles.js'
import { encodeCursor } from '../../src/platform/pagination.js'
import { build } from '../helpers/build.js'
import { insertDataset } from '../helpers/catalog.js'

const LISTS: [url: string, role: Role][] = [
  ['/api/v1/audit/events', 'auditor'],
  ['/api/v1/audit/checkpoints', 'auditor'],
  ['/api/v1/audit/blacklist', 'auditor'],
  ['/api/v1/datasets/students/corrections', 'security_admin'],
  ['/api/v1/destructions', 'security_admin'],
  ['/api/v1/exports', 'consumer'],
  ['/api/v1/grants', 'security_admin'],
  ['/api/v1/share-requests', 'security_admin']
]

t.test('a forged cursor of a seq-keyed list is a 400 naming cursor, and a good one pages', async (t) => {
  const h = await build(t)
  await insertDataset(h)
  for (const [url, role] of LISTS) {
    for (const forged of [['x'], ['1; drop table units'], ['-1'], ['1'.repeat(20)]]) {
      const res = await h.as(role, { method: 'GET', url: `${url}?cursor=${encodeCursor(forged)}` })
      t.equal(res.statusCode, 400, `${url} with ${JSON.stringify(forged)}: ${res.body}`)
      t.match(res.json(), { errors: [{ field: 'cursor' }] })
    }
    const paged = await h.as(role, { method: 'GET', url: `${url}?cursor=${encodeCursor(['12345'])}` })
    t.equal(paged.statusCode, 200, `${url} takes a cursor it could have issued: ${paged.body}`)
  }
})
