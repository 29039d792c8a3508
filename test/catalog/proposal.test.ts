// src/catalog/datasets/proposal.ts: which changes of a published dataset loosen protection (and wait
// for the office) and which take effect at once. Pure functions: no database.
import t from 'tap'
import type { Dataset, StoredField } from '../../src/db/database.js'
import { loosened, splitChange } from '../../src/catalog/datasets/proposal.js'
import type { UpdateDataset } from '../../src/catalog/datasets/schemas.js'
import { COLLECTION, field, STUDENT_FIELDS } from '../helpers/catalog.js'

const row = {
  code: 'students',
  grade: 'ordinary',
  national_grade: 'general',
  share_attribute: 'conditional',
  open_attribute: 'conditional',
  holds_pi: true,
  sensitive_pi: false,
  children_pi: false,
  fields: STUDENT_FIELDS,
  collection: { ...COLLECTION },
  grading_proposal: null
} as unknown as Dataset

const withField = (name: string, change: Partial<StoredField>) => STUDENT_FIELDS.map((f) => f.name === name ? { ...f, ...change } : f)
const split = (changes: object, fields?: StoredField[], from: Dataset = row) =>
  splitChange(from, changes as UpdateDataset, fields ?? (changes as { fields?: StoredField[] }).fields)

t.test('each kind of loosening waits; tightening and neutral changes apply at once', async (t) => {
  const cases: Array<[string, object, 'waits' | 'at once']> = [
    ['a lower grade', { grade: 'internal_public' }, 'waits'],
    ['a higher grade', { grade: 'important' }, 'at once'],
    ['a lower national grade', { nationalGrade: 'general' }, 'at once'], // the same as confirmed: nothing loosens
    ['a looser share attribute', { shareAttribute: 'unconditional' }, 'waits'],
    ['a tighter share attribute', { shareAttribute: 'none' }, 'at once'],
    ['a looser open attribute', { openAttribute: 'unconditional' }, 'waits'],
    ['a tighter open attribute', { openAttribute: 'none' }, 'at once'],
    ['a new PI field', { fields: [...STUDENT_FIELDS, field('mother', 'string', { piType: 'family', sensitivity: 3 })] }, 'waits'],
    ['a new field without PI', { fields: [...STUDENT_FIELDS, field('room', 'string')] }, 'at once'],
    ['a field whose PI type drops', { fields: withField('phone', { piType: null }) }, 'waits'],
    ['a field whose PI type changes', { fields: withField('phone', { piType: 'address' }) }, 'waits'],
    ['a field whose sensitivity drops', { fields: withField('email', { sensitivity: 2 }) }, 'waits'],
    ['a field whose sensitivity rises', { fields: withField('email', { sensitivity: 4 }) }, 'at once'],
    ['a field whose masking changes', { fields: withField('phone', { masking: { strategy: 'keep' } }) }, 'waits'],
    ['a removed field', { fields: STUDENT_FIELDS.filter((f) => f.name !== 'gpa') }, 'at once'],
    ['children\'s PI declared', { childrenPersonalInfo: true }, 'waits'],
    ['a new collection method', { collection: { ...COLLECTION, method: 'device' } }, 'waits'],
    ['the collection record as stored, keys in another order', { collection: Object.fromEntries(Object.entries(COLLECTION).reverse()) }, 'at once'],
    ['the name', { name: 'Students' }, 'at once']
  ]
  for (const [label, changes, expected] of cases) {
    const { immediate, pending } = split(changes)
    const waits = pending !== null
    t.equal(waits ? 'waits' : 'at once', expected, label)
    const keys = Object.keys(changes)
    t.same(Object.keys(waits ? pending : immediate).sort(), keys.sort(), `${label}: the whole group goes one way`)
  }
})

t.test('a mixed change splits by group; a later word on a group replaces what waited', async (t) => {
  const mixed = split({ grade: 'important', shareAttribute: 'unconditional', name: 'x', reason: 'why' })
  t.same(mixed.immediate, { grade: 'important', name: 'x', reason: 'why' })
  t.same(mixed.pending, { shareAttribute: 'unconditional' })

  const waiting = { ...row, grading_proposal: { changes: { shareAttribute: 'unconditional', openAttribute: 'unconditional' }, proposedBy: 's', proposedAt: '', reason: null } } as Dataset
  const more = split({ childrenPersonalInfo: true }, undefined, waiting)
  t.same(more.pending, { shareAttribute: 'unconditional', openAttribute: 'unconditional', childrenPersonalInfo: true }, 'proposals add up')
  const withdrawn = split({ shareAttribute: 'conditional' }, undefined, waiting)
  t.same(withdrawn.pending, { openAttribute: 'unconditional' }, 'back to the confirmed value: that part is withdrawn')
  t.same(withdrawn.immediate, { shareAttribute: 'conditional' })
  const fieldsThenFlag = split({ sensitivePersonalInfo: false }, undefined,
    { ...row, grading_proposal: { changes: { fields: [...STUDENT_FIELDS, field('mother', 'string', { piType: 'family', sensitivity: 3 })] }, proposedBy: 's', proposedAt: '', reason: null } } as Dataset)
  t.equal(fieldsThenFlag.pending?.fields?.length, STUDENT_FIELDS.length + 1, 'a flag joins the waiting fields of its group')
})

t.test('a confirmed draft is loosened by any loosening group', async (t) => {
  t.notOk(loosened(row, { ...row, grade: 'important', share_attribute: 'none' }))
  t.ok(loosened(row, { ...row, open_attribute: 'unconditional' }))
  t.ok(loosened(row, { ...row, sensitive_pi: true }))
  t.ok(loosened(row, { ...row, collection: null }))
})
