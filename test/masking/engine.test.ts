import t from 'tap'
import fc from 'fast-check'
import { compileRule, compileRules, type Rules } from '../../src/masking/engine.js'
import { isBankCard, isUscc, idNumberBirthDate, isMobile } from '../../src/masking/formats.js'
import { createMaskingKey, detokenize } from '../../src/masking/keys.js'
import { createHmac } from 'node:crypto'
import { REDACT, type CompileContext } from '../../src/masking/strategies.js'
import { keyedDigest, keyedHash } from '../../src/platform/digest.js'
import { maskMiddle } from '../../src/masking/text.js'
import { FieldError } from '../../src/platform/errors.js'
import { idNumberCheckCharacter } from '../../src/platform/id-number.js'

const validId = (first17: string) => first17 + idNumberCheckCharacter(first17)

const key = createMaskingKey(Buffer.alloc(32, 7))
const ctx = (scope = 'grant:1'): CompileContext => ({ key, scope, today: new Date('2026-11-24T00:00:00Z') })
const one = (rule: Rules[string], value: unknown, c = ctx()) => compileRule(rule, 'rules.f', c)(value)

t.test('each Chinese format has its default mask', async (t) => {
  const cases: [string, string, string][] = [
    ['id_number', '11010519491231002X', '110105********002X'],
    ['phone', '13812345678', '138****5678'],
    ['phone', '+86 138-1234-5678', '138****5678'],
    ['name', '张三', '张*'],
    ['name', '欧阳娜娜', '欧阳**'],
    ['name', '诸葛亮', '诸葛*'],
    ['name', '王小明', '王**'],
    ['bank_card', '6222021234567890123', '622202*********0123'],
    ['email', 'zhangsan@example.edu.cn', 'z***@example.edu.cn'],
    ['address', '北京市海淀区中关村大街1号', '北京市海淀区****'],
    ['address', '广东省广州市天河区五山路381号', '广东省广州市天河区****'],
    ['passport', 'E12345678', 'E*****678'],
    ['student_id', '2026000123', '2026****23'],
    ['birth_date', '2001-05-06', '2001-**-**'],
    ['ip_address', '192.168.1.20', '192.168.*.*'],
    ['ip_address', '2001:db8::1', '2001:db8:*'],
    ['license_plate', '京A12345', '京A****5'],
    ['uscc', '91350100M000100Y43', '913501********0Y43']
  ]
  for (const [piType, input, expected] of cases) t.equal(one({ strategy: 'mask', piType }, input), expected, `${piType} ${input}`)
})

t.test('mask counts code points and always hides something', async (t) => {
  t.equal(one({ strategy: 'mask', keepFirst: 1, keepLast: 1 }, '𠀋𠀌𠀍𠀎'), '𠀋**𠀎', 'astral characters are one character each')
  t.equal(one({ strategy: 'mask', keepFirst: 3, keepLast: 4 }, 'abc'), 'a*c', 'a short value keeps at most two thirds')
  t.equal(one({ strategy: 'mask', keepFirst: 3, keepLast: 4 }, 'a'), '*')
  t.equal(one({ strategy: 'mask', keepFirst: 1, fixedLength: 3, char: '#' }, 'abcdefgh'), 'a###', 'fixed length hides the length')
  t.equal(one({ strategy: 'mask' }, 'secret'), '******', 'no piType, no counts: everything')
  t.equal(one({ strategy: 'mask', keepFirst: 1 }, '\ud800abc'), '\ud800***', 'a lone surrogate is one character')
})

t.test('non-string values under string rules are masked safely', async (t) => {
  t.equal(one({ strategy: 'mask', piType: 'phone' }, 13812345678), '138****5678', 'numbers are written out')
  t.equal(one({ strategy: 'mask', piType: 'phone' }, { nested: '13812345678' }), null, 'objects never pass a string rule')
  t.equal(one({ strategy: 'mask' }, ['a']), null)
  t.equal(one({ strategy: 'mask' }, null), null)
  t.equal(one({ strategy: 'truncate', length: 2 }, true), 'tr')
  t.equal(one({ strategy: 'generalize', to: 'year' }, 'not a date'), null, 'an unreadable value is withheld, not passed')
  t.equal(one({ strategy: 'noise', amplitude: 1 }, 'abc'), null)
  const long = 'x'.repeat(1_000_000) + '\u0000\u001b[31m'
  t.equal((one({ strategy: 'mask', keepFirst: 2 }, long) as string).length, long.length)
})

t.test('rules are checked: unknown strategies and parameters name the rule', async (t) => {
  const fails = (rule: unknown, field: string) => {
    const err = t.throws(() => compileRule(rule, 'rules.phone', ctx())) as FieldError
    t.ok(err instanceof FieldError)
    t.equal(err.field, field)
  }
  fails({ strategy: 'scramble' }, 'rules.phone.strategy')
  fails({ strategy: 'mask', keepFirts: 2 }, 'rules.phone.keepFirts')
  fails({ strategy: 'mask', keepFirst: -1 }, 'rules.phone.keepFirst')
  fails({ strategy: 'mask', char: '**' }, 'rules.phone.char')
  fails({ strategy: 'hash', algorithm: 'md5' }, 'rules.phone.algorithm')
  fails({ strategy: 'mask', piType: 'shoe_size' }, 'rules.phone.piType')
  fails({ strategy: 'redact', value: 1 }, 'rules.phone.value')
  fails({ strategy: 'toString' }, 'rules.phone.strategy')
  fails('mask', 'rules.phone')
})

t.test('hash: keyed, stable within a scope, different across scopes, SM3 and base32', async (t) => {
  const sha = one({ strategy: 'hash' }, '11010519491231002X')
  t.match(sha, /^[0-9a-f]{64}$/)
  t.equal(one({ strategy: 'hash' }, '11010519491231002X'), sha)
  t.not(one({ strategy: 'hash' }, '11010519491231002X', ctx('grant:2')), sha)
  t.match(one({ strategy: 'hash', algorithm: 'sm3', encoding: 'base32', length: 16 }, 'x'), /^[A-Z2-7]{16}$/)
  t.equal(one({ strategy: 'hash', piType: 'phone' }, '+86 13812345678'), one({ strategy: 'hash', piType: 'phone' }, '13812345678'), 'normalised before hashing')
})

t.test('tokenize: reversible with the key and scope only', async (t) => {
  for (const algorithm of ['aes', 'sm4']) {
    const token = one({ strategy: 'tokenize', algorithm }, '欧阳娜娜') as string
    t.equal(one({ strategy: 'tokenize', algorithm }, '欧阳娜娜'), token, 'deterministic within the scope')
    t.equal(detokenize(key, 'grant:1', token), '欧阳娜娜')
    t.equal(detokenize(key, 'grant:2', token), null, 'another scope cannot read it')
    t.equal(detokenize(createMaskingKey(Buffer.alloc(32, 8)), 'grant:1', token), null, 'another key cannot read it')
    const tampered = token.slice(0, -2) + (token.endsWith('A') ? 'BB' : 'AA')
    t.equal(detokenize(key, 'grant:1', tampered), null, 'a tampered token is refused')
  }
})

t.test('surrogates are valid fakes, deterministic per key', async (t) => {
  const id = one({ strategy: 'surrogate', piType: 'id_number' }, '11010519491231002X') as string
  t.ok(idNumberBirthDate(id), `${id} has a valid region, date and check digit`)
  t.not(id, '11010519491231002X')
  t.equal(one({ strategy: 'surrogate', piType: 'id_number' }, '11010519491231002X'), id)
  t.ok(isMobile(one({ strategy: 'surrogate', piType: 'phone' }, '13812345678') as string))
  t.ok(isBankCard(one({ strategy: 'surrogate', piType: 'bank_card' }, '6222021234567890123') as string))
  t.match(one({ strategy: 'surrogate', piType: 'name' }, '张三'), /^[\u4e00-\u9fff]{2,3}$/)
  t.match(one({ strategy: 'surrogate', piType: 'email' }, 'a@pku.edu.cn'), /^user\d{8}@pku\.edu\.cn$/)
  t.match(one({ strategy: 'surrogate' }, 'AB-12'), /^[A-Z]{2}-\d{2}$/, 'other values keep their shape')
})

t.test('generalize, truncate, noise, replace, null, redact', async (t) => {
  t.equal(one({ strategy: 'generalize', to: 'year_month' }, '2001-05-06'), '2001-05')
  t.equal(one({ strategy: 'generalize', piType: 'birth_date' }, '2001-05-06'), '2001')
  t.equal(one({ strategy: 'generalize', to: 'age_band' }, '2001-05-06'), '20-29')
  t.equal(one({ strategy: 'generalize', to: 'age_band', width: 5 }, validId('11010520150101002')), '10-14', 'ID numbers give their birth date')
  t.equal(one({ strategy: 'generalize', to: 'range', width: 1000 }, 4321), '4000-4999')
  t.equal(one({ strategy: 'generalize', to: 'province' }, '广东省广州市天河区五山路'), '广东省')
  t.equal(one({ strategy: 'generalize', to: 'city' }, '北京市海淀区中关村'), '北京市')
  t.equal(one({ strategy: 'truncate', length: 3, from: 'end' }, '𠀋abcd'), 'bcd')
  const noisy = one({ strategy: 'noise', amplitude: 5 }, 100) as number
  t.ok(Math.abs(noisy - 100) <= 5)
  t.equal(one({ strategy: 'noise', amplitude: 5 }, 100), noisy, 'the same noise each time: no averaging it away')
  t.equal(one({ strategy: 'replace', value: 'N/A' }, 'x'), 'N/A')
  t.equal(one({ strategy: 'null' }, 'x'), null)
  t.equal(one({ strategy: 'redact' }, 'x'), REDACT)
  const mask = compileRules({ a: { strategy: 'redact' }, b: { strategy: 'keep' } }, ctx())
  t.same(mask({ a: 1, b: 2, c: 3 }), { b: 2, c: 3 }, 'redact drops the field; others pass with caller rules')
  t.same(compileRules({ b: { strategy: 'keep' } }, ctx(), { others: 'redact' })({ a: 1, b: 2 }), { b: 2 }, 'policy mode drops unknown fields')
})

t.test('format validators', async (t) => {
  t.ok(isUscc('91350100M000100Y43'))
  t.notOk(isUscc('91350100M000100Y44'))
  t.ok(isBankCard('4111111111111111'))
  t.notOk(isBankCard('4111111111111112'))
  t.notOk(idNumberBirthDate('11010519491231002Y'))
  t.notOk(idNumberBirthDate('99010519491231002X'), 'no such province')
})

t.test('property: the masked part of the input never appears in the output', async (t) => {
  fc.assert(fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }).filter((s) => !s.includes('\u0000')), fc.nat(8), fc.nat(8), (s, first, last) => {
    const out = maskMiddle(s, first, last, '\u0000')
    const chars = Array.from(s)
    const outChars = Array.from(out)
    const kept = outChars.filter((c) => c !== '\u0000').length
    const hidden = chars.length - kept
    if (hidden < Math.ceil(chars.length / 3)) return false
    // what is kept is exactly a prefix and a suffix of the input: nothing from the middle leaks
    const head = outChars.slice(0, outChars.indexOf('\u0000'))
    const tail = outChars.slice(outChars.lastIndexOf('\u0000') + 1)
    return head.join('') === chars.slice(0, head.length).join('') &&
      tail.join('') === chars.slice(chars.length - tail.length).join('') && outChars.length === chars.length
  }), { numRuns: 500 })
  fc.assert(fc.property(fc.stringMatching(/^1[3-9]\d{9}$/), (phone) => {
    const out = one({ strategy: 'mask', piType: 'phone' }, phone) as string
    // the four middle digits are gone (they may recur by chance in the kept tail, so compare positions)
    return out === phone.slice(0, 3) + '****' + phone.slice(7) && /^\d{3}\*{4}\d{4}$/.test(out)
  }), { numRuns: 300 })
  t.pass('800 generated cases')
})

t.test('property: hash is stable per key and differs across keys', async (t) => {
  fc.assert(fc.property(fc.string({ maxLength: 100 }), fc.string({ minLength: 1, maxLength: 20 }), fc.string({ minLength: 1, maxLength: 20 }), (value, a, b) => {
    const h1 = one({ strategy: 'hash' }, value, ctx(a))
    const same = one({ strategy: 'hash' }, value, ctx(a))
    const other = one({ strategy: 'hash' }, value, ctx(b))
    return h1 === same && (a === b ? other === h1 : other !== h1)
  }), { numRuns: 300 })
  t.pass('300 generated cases')
})

t.test('the fast HMAC is HMAC', async (t) => {
  const k = Buffer.alloc(32, 3)
  for (const algorithm of ['sha256', 'sm3'] as const) {
    t.same(keyedHash(algorithm, k)('欧阳娜娜'), createHmac(algorithm, k).update('欧阳娜娜').digest())
  }
})

t.test('the one-shot HMAC equals HMAC on both sides of its scratch buffer, and with long keys', async (t) => {
  // up to 256 UTF-8 bytes go through the scratch buffer, longer values through keyedHash: at the
  // boundary a 3-byte character decides; a key over the 64-byte block is hashed first (RFC 2104)
  const values = ['', 'a', '欧'.repeat(85), '欧'.repeat(86), 'x'.repeat(85), 'x'.repeat(86), 'x'.repeat(256), 'x'.repeat(257), '𠀋'.repeat(200), 'é'.repeat(5000)]
  for (const key of [Buffer.alloc(32, 7), Buffer.alloc(64, 9), Buffer.alloc(100, 11)]) {
    for (const algorithm of ['sha256', 'sm3'] as const) {
      const hex = keyedDigest(algorithm, key, 'hex')
      const raw = keyedDigest(algorithm, key, 'buffer')
      for (const v of values) {
        const expected = createHmac(algorithm, key).update(v, 'utf8').digest()
        t.equal(hex(v), expected.toString('hex'), `${algorithm}, ${key.length}-byte key, ${v.length} characters`)
        t.same(raw(v), expected)
      }
      // the scratch buffer is reused: a short value after a long one is not polluted by it
      hex('y'.repeat(80))
      t.equal(hex('y'), createHmac(algorithm, key).update('y').digest('hex'))
    }
  }
})
