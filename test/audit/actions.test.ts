import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { ACCESS_ACTIONS, AUDIT_ACTIONS, READ_ACTIONS } from '../../src/audit/events.js'

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
