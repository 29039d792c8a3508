// Masking throughput: 100,000 rows of a 12-field student record (6 fields masked) compiled once into
// a per-row function, masked and serialised to JSON, against serialising the same rows alone, in one
// process and run. Also the third-party profile (keyed hashes) and PI detection in rows per second.
//
//   npx tsx bench/masking.ts
//   BENCH_ROWS=200000 BENCH_ROUNDS=7 npx tsx bench/masking.ts
import { randomBytes } from 'node:crypto'
import { idNumberCheckCharacter } from '../src/platform/id-number.js'
import { detect } from '../src/masking/detect.js'
import { compileRules, type Row, type Rules } from '../src/masking/engine.js'
import { createMaskingKey } from '../src/masking/keys.js'

const rowCount = Number(process.env.BENCH_ROWS ?? 100_000)
const rounds = Number(process.env.BENCH_ROUNDS ?? 5)

const SURNAMES = [...'王李张刘陈杨黄赵吴周']
const GIVEN = [...'伟芳娜敏静丽强磊军洋']
const PLACES = ['北京市海淀区中关村大街', '广东省广州市天河区五山路', '浙江省杭州市西湖区文三路', '湖北省武汉市洪山区珞喻路']

function student (i: number): Row {
  const year = 1998 + (i % 10)
  const first17 = `110108${year}0${1 + (i % 9)}1${i % 10}${String(i % 1000).padStart(3, '0')}`
  return {
    student_id: String(2026000000 + i),
    name: (i % 50 === 0 ? '欧阳' : SURNAMES[i % 10]!) + GIVEN[(i * 7) % 10]! + GIVEN[(i * 3) % 10]!,
    id_number: first17 + idNumberCheckCharacter(first17),
    phone: `138${String(10_000_000 + i * 13).slice(-8)}`,
    email: `s${i}@example.edu.cn`,
    address: `${PLACES[i % 4]}${i % 300}号`,
    birth_date: `${year}-0${1 + (i % 9)}-1${i % 10}`,
    gender: i % 2 ? '男' : '女',
    college: ['CS', 'MATH', 'LAW'][i % 3],
    enrolled: 2020 + (i % 6),
    gpa: Math.round((2 + (i % 30) / 10) * 100) / 100,
    active: i % 7 !== 0
  }
}

const display: Rules = {
  name: { strategy: 'mask', piType: 'name' },
  id_number: { strategy: 'mask', piType: 'id_number' },
  phone: { strategy: 'mask', piType: 'phone' },
  email: { strategy: 'mask', piType: 'email' },
  address: { strategy: 'generalize', to: 'city' },
  birth_date: { strategy: 'generalize', to: 'year' }
}
const thirdParty: Rules = {
  student_id: { strategy: 'hash', length: 32 },
  name: { strategy: 'redact' },
  id_number: { strategy: 'hash', algorithm: 'sm3', length: 32 },
  phone: { strategy: 'redact' },
  email: { strategy: 'redact' },
  birth_date: { strategy: 'generalize', to: 'age_band' }
}

function best (fn: () => void): number {
  let min = Infinity
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint()
    fn()
    min = Math.min(min, Number(process.hrtime.bigint() - start) / 1e9)
  }
  return min
}

const rows = Array.from({ length: rowCount }, (_, i) => student(i))
const ctx = { key: createMaskingKey(randomBytes(32)), scope: 'grant:bench', today: new Date() }
let sink = 0

const serialiseOnly = best(() => { sink += JSON.stringify(rows).length })
const rate = (seconds: number) => Math.round(rowCount / seconds)
console.log(`rows: ${rowCount}, 12 fields, best of ${rounds} rounds`)
console.log(`baseline  serialise only               ${rate(serialiseOnly).toLocaleString('en')} rows/s`)
for (const [label, rules] of [['display', display], ['third_party', thirdParty]] as const) {
  const mask = compileRules(rules, ctx)
  const seconds = best(() => { sink += JSON.stringify(rows.map(mask)).length })
  console.log(`${label.padEnd(11)} mask + serialise (6 fields) ${rate(seconds).toLocaleString('en')} rows/s   ratio ${(serialiseOnly / seconds).toFixed(2)}`)
}
const detectRows = rows.slice(0, Math.min(rowCount, 10_000))
const detectSeconds = best(() => { sink += Object.keys(detect(detectRows).fields).length })
console.log(`detect (${detectRows.length} rows per call)            ${Math.round(detectRows.length / detectSeconds).toLocaleString('en')} rows/s`)
if (sink === 0) console.log('')
