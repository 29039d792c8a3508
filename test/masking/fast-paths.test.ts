// The per-row masks read their formats by hand (no regex match arrays, no slices) and build their
// outputs in one piece: each fast path is checked here against the plain definition it replaces.
import t from 'tap'
import fc from 'fast-check'
import { compileRule, compileRules, type Rules } from '../../src/masking/engine.js'
import { ADDRESS, chineseSurname, COMPOUND_SURNAMES, dateYear, isEmail, parseAddress, parseDate, SURNAMES } from '../../src/masking/formats.js'
import { generalize } from '../../src/masking/generalize.js'
import { createMaskingKey } from '../../src/masking/keys.js'
import type { CompileContext } from '../../src/masking/strategies.js'
import { maskMiddle, pieceMemo, repeatChar } from '../../src/masking/text.js'

const ctx: CompileContext = { key: createMaskingKey(Buffer.alloc(32, 7)), scope: 'grant:1', today: new Date('2026-11-24T00:00:00Z') }
const onString = (rule: Rules[string]) => {
  const fn = compileRule(rule, 'rules.f', ctx)
  return (s: string) => fn.onString ? fn.onString(s) : fn(s)
}

/** Text made of the pieces the formats look for, so that the generated cases hit them. */
const PIECES = ['省', '自治区', '特别行政区', '北京市', '天津市', '上海市', '重庆市', '北京', '自治州', '地区', '盟', '市', '区', '县', '旗',
  '广东', '广州', '天河', '海淀', '中关村', '号', '欧阳', '诸葛', '张', '王', '·', '•', '1', 'a', 'Z', ' ', '.', '-', '_', '@', '%', '+',
  'example', 'edu', 'cn', '\u33ff', '\u3400', '\u9fff', '\ua000', '\ud800', '\udc00', '𠀋', '\u0000', '\u001b[31m', '2001-05-06', '138']
const pieced = fc.array(fc.constantFrom(...PIECES), { maxLength: 14 }).map((a) => a.join(''))
const text = fc.oneof(pieced, pieced, fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }))

/** parseAddress as the regex match it was before the hand-written scan */
function addressByRegex (value: string) {
  const m = ADDRESS.exec(value)
  if (!m || (!m[1] && !m[2])) return null
  const province = m[1] ?? ''
  const city = m[2] ?? (/^(北京|天津|上海|重庆)市$/.test(province) ? province : '')
  return { province, city, district: m[3] ?? '', rest: value.slice(m[0].length) }
}

/** maskMiddle as slices and concatenation, before the one-piece splice */
function maskByConcat (s: string, first: number, last: number, char: string, fixed?: number): string {
  const chars = Array.from(s)
  const n = chars.length
  if (n === 0) return s
  const keptMax = n - Math.ceil(n / 3)
  if (first + last > keptMax) {
    first = Math.min(first, Math.ceil(keptMax / 2))
    last = Math.min(last, keptMax - first)
  }
  return chars.slice(0, first).join('') + char.repeat(fixed ?? (n - first - last)) + (last === 0 ? '' : chars.slice(n - last).join(''))
}

t.test('the address scan splits as the regex does', async (t) => {
  for (const s of ['北京市海淀区中关村大街1号', '广东省广州市天河区五山路381号', '新疆维吾尔自治区乌鲁木齐市天山区', '北京市北京市海淀区', '海淀区', '中关村大街', '']) {
    t.same(parseAddress(s), addressByRegex(s), s)
  }
  fc.assert(fc.property(text, (s) => JSON.stringify(parseAddress(s)) === JSON.stringify(addressByRegex(s))), { numRuns: 20_000 })
})

t.test('the surname and date readers answer as the regexes do', async (t) => {
  const surnameByRegex = (s: string) => {
    if (!/^[\u3400-\u9fff]{2,4}(?:[·•][\u3400-\u9fff]{1,8})?$/.test(s)) return null
    if (COMPOUND_SURNAMES.has(s.slice(0, 2)) && s.length >= 3) return s.slice(0, 2)
    return SURNAMES.includes(s[0]!) ? s[0]! : null
  }
  const names = fc.oneof(text, fc.stringMatching(/^[\u3400-\u9fff·•]{1,14}$/),
    fc.tuple(fc.constantFrom(...COMPOUND_SURNAMES, ...SURNAMES), fc.stringMatching(/^[\u3400-\u9fff]{0,3}(?:[·•][\u3400-\u9fff]{0,9})?$/)).map(([a, b]) => a + b))
  fc.assert(fc.property(names, (s) => chineseSurname(s) === surnameByRegex(s)), { numRuns: 20_000 })
  t.equal(chineseSurname('买买提·艾力'), null, 'not a surname known')
  t.equal(chineseSurname('张·三丰'), null, 'one character before the dot is no name')
  t.equal(chineseSurname('王小明'), '王')
  t.equal(chineseSurname('欧阳'), '欧', 'two characters: the compound surname needs a given name')
  t.equal(chineseSurname('张'.repeat(1_000_000)), null)
  fc.assert(fc.property(fc.oneof(text, fc.stringMatching(/^\d{4}-\d{2}-\d{2}$/)), (s) => dateYear(s) === (parseDate(s)?.year ?? -1)), { numRuns: 20_000 })
})

t.test('mask in one piece equals slices and concatenation, surrogates and long values included', async (t) => {
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 80 }), fc.nat(70), fc.nat(70), fc.option(fc.integer({ min: 1, max: 32 }), { nil: undefined }),
    fc.constantFrom('*', '#', '𠀋', '\u0000', '张'), (s, first, last, fixed, char) => maskMiddle(s, first, last, char, fixed) === maskByConcat(s, first, last, char, fixed)),
  { numRuns: 20_000 })
  const id = onString({ strategy: 'mask', piType: 'id_number' })
  t.equal(id('11010519491231002X'), '110105********002X')
  t.equal(id('1101051949123𠀋002X'), '110105********002X', 'an astral character counts once')
  t.equal(id('110105194912\ud800002X'), '110105*******002X', 'a lone surrogate counts once')
  t.equal(id('\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u0009\u000a\u000b'), '\u0000\u0001\u0002\u0003****\u0008\u0009\u000a\u000b', 'control characters, a third hidden')
  const long = '1'.repeat(1_000_000) + '\u001b[0m'
  t.equal(id(long), long.slice(0, 6) + '*'.repeat(long.length - 10) + long.slice(-4))
})

t.test('phone, name, e-mail and address masks equal their definitions', async (t) => {
  const phone = onString({ strategy: 'mask', piType: 'phone' })
  const hashPhone = onString({ strategy: 'mask', piType: 'phone', char: '#' })
  fc.assert(fc.property(fc.stringMatching(/^1\d{10}$/), (s) => phone(s) === s.slice(0, 3) + '****' + s.slice(7) && hashPhone(s) === s.slice(0, 3) + '####' + s.slice(7)))
  t.equal(onString({ strategy: 'mask', piType: 'phone', char: '𠀋' })('13812345678'), '138𠀋𠀋𠀋𠀋5678')

  const name = onString({ strategy: 'mask', piType: 'name' })
  fc.assert(fc.property(fc.oneof(text, fc.stringMatching(/^[\u3400-\u9fff·•]{1,14}$/)), (s) => {
    const surname = chineseSurname(s)
    return name(s) === (surname ? surname + '*'.repeat(s.length - surname.length) : maskMiddle(s, 1, 0, '*'))
  }), { numRuns: 10_000 })
  t.equal(name('欧阳娜娜'), '欧阳**')
  t.equal(name('买买提·艾力'), '买*****')

  // one rule sees many values: a domain seen before is found again, and the part before it is still checked
  const email = onString({ strategy: 'mask', piType: 'email' })
  const local = fc.string({ unit: fc.constantFrom('a', 'Z', '9', '.', '_', '%', '+', '-', '@', ' ', '张', '\ud800', '\u0000'), maxLength: 70 })
  const domain = fc.constantFrom('@example.edu.cn', '@pku.edu.cn', '@exampl3.edu.cn', '@a.b', '@a..b', '@a.b.', '@ab', '@', '')
  fc.assert(fc.property(local, domain, (l, d) => {
    const s = l + d
    return email(s) === (isEmail(s) ? s[0] + '***' + s.slice(s.lastIndexOf('@')) : maskMiddle(s, 1, 0, '*'))
  }), { numRuns: 20_000 })
  t.equal(email('x'.repeat(250) + '@a.b'), maskMiddle('x'.repeat(250) + '@a.b', 1, 0, '*'), 'over 254 characters is no address')

  const address = onString({ strategy: 'mask', piType: 'address' })
  fc.assert(fc.property(text, (s) => {
    const parts = addressByRegex(s)
    return address(s) === (parts && parts.rest ? parts.province + (parts.city === parts.province ? '' : parts.city) + parts.district + '****' : maskMiddle(s, 6, 0, '*'))
  }), { numRuns: 20_000 })
  t.equal(address('北京市北京市海淀区中关村'), '北京市海淀区****', 'a city repeating its province is left out')
})

t.test('generalising strings by level equals generalize()', async (t) => {
  const dates = fc.tuple(fc.integer({ min: 1890, max: 2030 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 }))
    .map(([y, m, d]) => `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`)
  for (const to of ['year', 'age_band', 'province', 'city', 'district'] as const) {
    for (const width of [10, 5]) {
      const rule = onString({ strategy: 'generalize', to, width })
      fc.assert(fc.property(fc.oneof(text, dates), (s) => rule(s) === generalize(s, to, width, ctx.today)), { numRuns: 5_000 })
    }
  }
  const band = onString({ strategy: 'generalize', to: 'age_band' })
  t.equal(band('2001-05-06'), '20-29')
  t.equal(band('2001-05-06'), '20-29', 'remembered')
  t.equal(band('2001-02-29'), null, 'no such day')
  t.equal(band('20010506'), '20-29', 'other forms of date')
  t.equal(onString({ strategy: 'generalize', to: 'district' })('北京市北京市海淀区中关村'), '北京市海淀区')
  t.equal(onString({ strategy: 'generalize', to: 'city' })('北京市北京市海淀区中关村'), '北京市')
  t.equal(onString({ strategy: 'generalize', to: 'province' })('海淀区'), null)
})

t.test('the piece memo confirms what its hash finds', async (t) => {
  let made = 0
  const memo = pieceMemo((piece) => { made++; return `<${piece}>` }, 8)
  t.equal(memo.find('ab@x.cn', 2, 7), undefined)
  t.equal(memo.get('ab@x.cn', 2, 7), '<@x.cn>')
  t.equal(memo.get('cd@x.cn', 2, 7), '<@x.cn>')
  t.equal(made, 1, 'made once')
  t.equal(memo.find('@x.cnab', 0, 5), '<@x.cn>', 'at the start')
  t.equal(memo.find('a@x.cnb', 1, 6), '<@x.cn>', 'in the middle')
  t.equal(memo.find('ab@x.cm', 2, 7), undefined, 'one character differs')
  t.equal(memo.get('ab@y.cn', 2, 7), '<@y.cn>', 'another piece')
  for (let i = 0; i < 20; i++) memo.get(`p${i}`, 0, 3)
  t.equal(memo.find('ab@x.cn', 2, 7), undefined, 'bounded: forgotten when full')
  t.equal(memo.get('ab@x.cn', 2, 7), '<@x.cn>', 'and made again')
  t.equal(repeatChar('*', 70), '*'.repeat(70))
})

t.test('rows keep their shape and hostile values are masked safely', async (t) => {
  const display: Rules = {
    name: { strategy: 'mask', piType: 'name' },
    id_number: { strategy: 'mask', piType: 'id_number' },
    phone: { strategy: 'mask', piType: 'phone' },
    email: { strategy: 'mask', piType: 'email' },
    address: { strategy: 'generalize', to: 'city' },
    birth_date: { strategy: 'generalize', to: 'year' }
  }
  const mask = compileRules(display, ctx)
  const row = { student_id: '2026000001', name: '张伟', id_number: '11010519491231002X', phone: '13812345678', email: 's1@example.edu.cn', address: '北京市海淀区中关村大街1号', birth_date: '2001-05-06', gpa: 3.5 }
  const out = mask(row)
  t.same(Object.keys(out), Object.keys(row), 'the same keys in the same order')
  t.same(out, { student_id: '2026000001', name: '张*', id_number: '110105********002X', phone: '138****5678', email: 's***@example.edu.cn', address: '北京市', birth_date: '2001', gpa: 3.5 })
  const hostile = ['\ud800'.repeat(100_000), '𠀋'.repeat(100_000), '\u0000\u001b'.repeat(100_000), '@'.repeat(100_000), '北京市'.repeat(100_000), '张'.repeat(100_000), '']
  for (const value of [...hostile, 12345678901, true, null, undefined, { toString: () => { throw new Error('no') } }, [1], 10n]) {
    const masked = mask({ name: value, id_number: value, phone: value, email: value, address: value, birth_date: value })
    for (const v of Object.values(masked)) t.ok(v === null || typeof v === 'string', typeof value === 'string' ? `a string of ${value.length}` : String(typeof value))
  }
})
