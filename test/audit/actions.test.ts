import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { ACCESS_ACTIONS, AUDIT_ACTIONS, READ_ACTIONS } from '../../src/audit/events.js'
import { actionOfDomainEvent, DOMAIN_VERBS } from '../../src/platform/audit-actions.js'

/** docs/audit.md, found from here upwards (the tests also run compiled, from .test-build/). */
function docsPath (): string {
  for (let dir = new URL('.', import.meta.url); ; dir = new URL('..', dir)) {
    const candidate = new URL('docs/audit.md', dir)
    if (existsSync(candidate)) return fileURLToPath(candidate)
    if (dir.pathname === '/') throw new Error('docs/audit.md not found above the test')
  }
}

t.test('docs/audit.md names every audit action in AUDIT_ACTIONS and no other', async (t) => {
  const text = await readFile(docsPath(), 'utf8')
  const section = /^## Actions\n([\s\S]*?)(?=^## )/m.exec(text)?.[1]
  t.ok(section, 'docs/audit.md has a section "## Actions"')
  const documented = [...(section ?? '').matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1])
  t.same(documented, [...AUDIT_ACTIONS], 'its table lists the actions of src/audit/events.ts, in their order')
})

t.test('the subsets of actions are actions', async (t) => {
  for (const a of [...READ_ACTIONS, ...ACCESS_ACTIONS]) t.ok((AUDIT_ACTIONS as readonly string[]).includes(a), a)
})

t.test('a domain event is recorded as the action its verb stands for in DOMAIN_VERBS', async (t) => {
  t.equal(actionOfDomainEvent('dataset.create'), 'insert')
  t.equal(actionOfDomainEvent('records.ingest'), 'insert')
  t.equal(actionOfDomainEvent('share_request.approve'), 'review')
  t.equal(actionOfDomainEvent('grant.revoke'), 'revoke')
  t.equal(actionOfDomainEvent('agreement.sign'), 'sign')
  t.equal(actionOfDomainEvent('destruction.execute'), 'destruction')
  t.equal(actionOfDomainEvent('dataset.grading.confirm'), 'update', 'a change of state is an update')
  t.equal(actionOfDomainEvent('grading-policy.update'), 'policy_change', 'the grading policy changes as a policy')
  t.equal(actionOfDomainEvent('unit.toString'), 'update', 'a verb the table lacks (an event stored by an older release) is an update, never a lookup on the prototype')
  for (const [verb, action] of Object.entries(DOMAIN_VERBS)) {
    t.ok((AUDIT_ACTIONS as readonly string[]).includes(action), `${verb} is recorded as ${action}, an action of AUDIT_ACTIONS`)
    t.equal(actionOfDomainEvent(`thing.${verb}`), action, `thing.${verb}`)
  }
})
