import { readFile } from 'node:fs/promises'
import t from 'tap'
import { AlertSchema } from '../../src/audit/alert-schemas.js'
import { alertSettingsOf } from '../../src/audit/alerts/engine.js'
import { ALERT_RULE_NAMES, ALERT_RULES, ALERT_SETTINGS } from '../../src/audit/alerts/registry.js'
import { EnvSchema, loadConfig } from '../../src/config.js'

t.test('each rule has its own name and its own variables, and the configuration holds them all', async (t) => {
  t.same(ALERT_RULES.map((r) => r.name), ALERT_RULE_NAMES)
  t.equal(new Set(ALERT_RULE_NAMES).size, ALERT_RULES.length, 'names are unique')
  const names = ALERT_RULES.flatMap((r) => Object.keys(r.settings))
  t.equal(new Set(names).size, names.length, 'no two rules share a variable')
  t.same(Object.keys(ALERT_SETTINGS), names)
  const env = EnvSchema.properties as Record<string, unknown>
  for (const rule of ALERT_RULES) {
    for (const [name, schema] of Object.entries(rule.settings)) t.equal(env[name], schema, `${name} of ${rule.name} is in the configuration`)
  }
  t.same(Object.keys(alertSettingsOf(loadConfig({})).rules), ALERT_RULE_NAMES, 'every rule is configured')
})

t.test('the alert schema lists the registry\'s rules', async (t) => {
  t.same(AlertSchema.properties.rule.enum, ALERT_RULE_NAMES)
  const { description } = AlertSchema.properties.rule as { description?: string }
  for (const rule of ALERT_RULES) t.match(description, `${rule.name}: ${rule.description}`)
})

t.test('docs/audit.md lists exactly the registry\'s rules, each with its variables', async (t) => {
  const doc = await readFile(new URL('../../docs/audit.md', import.meta.url), 'utf8')
  const section = doc.slice(doc.indexOf('## Alerts and the access report'))
  const table = section.slice(section.indexOf('| rule |'), section.indexOf('\n\n', section.indexOf('| rule |')))
  const rows = new Map(table.split('\n').flatMap((line) => {
    const name = /^\| `([a-z_]+)` \|/.exec(line)?.[1]
    return name === undefined ? [] : [[name, line] as const]
  }))
  t.same([...rows.keys()], ALERT_RULE_NAMES, 'one row per rule, in the registry\'s order')
  for (const rule of ALERT_RULES) {
    for (const name of Object.keys(rule.settings)) t.match(rows.get(rule.name) ?? '', `\`${name}\``, `${rule.name}'s row names ${name}`)
  }
})
