// Format negotiation (src/platform/formats.ts), which the data path, the open data and the audit
// events share: format= first, then the Accept header, then the route's default.
import t from 'tap'
import { chooseFormat, type AcceptedTypes } from '../../src/platform/formats.js'

t.test('chooseFormat: format= first, then the first accepted media type the Accept header contains, else the default', async (t) => {
  const accepted: AcceptedTypes<'json' | 'csv' | 'ndjson'> = [['csv', ['text/csv']], ['ndjson', ['ndjson', 'application/jsonl']]]
  t.equal(chooseFormat('json', 'text/csv', accepted, 'json'), 'json', 'the query string wins over the header')
  t.equal(chooseFormat('ndjson', undefined, accepted, 'json'), 'ndjson')
  t.equal(chooseFormat(undefined, undefined, accepted, 'json'), 'json')
  t.equal(chooseFormat(undefined, '', accepted, 'json'), 'json')
  t.equal(chooseFormat(undefined, 'text/csv;q=0.9, application/json', accepted, 'json'), 'csv')
  t.equal(chooseFormat(undefined, 'application/x-ndjson', accepted, 'json'), 'ndjson')
  t.equal(chooseFormat(undefined, 'application/jsonl', accepted, 'json'), 'ndjson')
  t.equal(chooseFormat(undefined, 'application/x-ndjson, text/csv', accepted, 'json'), 'csv', 'in the order the route lists them')
  t.equal(chooseFormat(undefined, 'image/png', accepted, 'json'), 'json', 'nothing the route serves: its default, never a 406')
  const catalog: AcceptedTypes<'jsonld' | 'json'> = [['jsonld', ['application/ld+json']], ['json', ['application/json']]]
  t.equal(chooseFormat(undefined, 'application/json', catalog, 'jsonld'), 'json')
  t.equal(chooseFormat(undefined, 'application/json, application/ld+json', catalog, 'jsonld'), 'jsonld')
  t.equal(chooseFormat(undefined, '*/*', catalog, 'jsonld'), 'jsonld')
})
