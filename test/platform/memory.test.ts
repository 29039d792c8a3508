// The start-up notice of V8's heap limit (src/platform/memory.ts): capped is info, uncapped a warning.
import { getHeapStatistics } from 'node:v8'
import t from 'tap'
import { HEAP_LIMIT_ADVICE_MB, heapLimitNotice } from '../../src/platform/memory.js'

const MB = 1048576

t.test('a heap limit up to the advice is reported at info level', async (t) => {
  t.same(heapLimitNotice(288 * MB), { level: 'info', heapLimitMb: 288, msg: 'V8 heap limit' })
  t.equal(heapLimitNotice(HEAP_LIMIT_ADVICE_MB * MB).level, 'info', 'the advice itself is fine')
})

t.test('a limit above the advice (V8\'s default on a large machine) is a warning that says what to set', async (t) => {
  const notice = heapLimitNotice(4144 * MB)
  t.equal(notice.level, 'warn')
  t.equal(notice.heapLimitMb, 4144)
  t.match(notice.msg, /NODE_OPTIONS=--max-old-space-size=256/)
  t.match(notice.msg, /docs\/operations\.md/)
  t.equal(heapLimitNotice((HEAP_LIMIT_ADVICE_MB + 1) * MB).level, 'warn', 'one MB above is already too much')
})

t.test('without an argument it reads this process\'s own limit', async (t) => {
  t.equal(heapLimitNotice().heapLimitMb, Math.round(getHeapStatistics().heap_size_limit / MB))
})
