import { isIPv4, isIPv6 } from 'node:net'
import { idNumberCheckCharacter, isCalendarDate } from '../platform/id-number.js'

/**
 * Chinese personal-information formats: validators the detector and the surrogate generator share.
 * Each validator answers on normalised text and never throws.
 */

/** Province-level codes of GB/T 2260 (first two digits of a resident ID number); 71 Taiwan, 81/82 HK/Macau, 83 residence permits. */
const PROVINCES = new Set(['11', '12', '13', '14', '15', '21', '22', '23', '31', '32', '33', '34', '35', '36', '37',
  '41', '42', '43', '44', '45', '46', '50', '51', '52', '53', '54', '61', '62', '63', '64', '65', '71', '81', '82', '83'])

/** Birth date of a valid 18-digit resident ID number (GB 11643: region, date, check digit), else null. */
export function idNumberBirthDate (value: string, today = new Date()): Date | null {
  if (value.length !== 18 || !/^[1-9]\d{16}[\dXx]$/.test(value)) return null
  if (!PROVINCES.has(value.slice(0, 2))) return null
  const year = Number(value.slice(6, 10))
  const month = Number(value.slice(10, 12))
  const day = Number(value.slice(12, 14))
  if (year < 1900 || !isCalendarDate(year, month, day)) return null
  const birth = new Date(Date.UTC(year, month - 1, day))
  if (birth.getTime() > today.getTime()) return null
  if (idNumberCheckCharacter(value) !== value[17]!.toUpperCase()) return null
  return birth
}

/** Mainland mobile numbers by carrier prefix (China Mobile, Unicom, Telecom, Broadnet, virtual operators). */
const MOBILE = /^1(?:3\d|4[5-9]|5[0-35-9]|6[2567]|7[0-8]|8\d|9[0-35-9])\d{8}$/
export function normaliseMobile (value: string): string {
  return value.replace(/[\s-]/g, '').replace(/^(?:\+?86)(?=1\d{10}$)/, '')
}
export function isMobile (value: string): boolean {
  return MOBILE.test(normaliseMobile(value))
}

/** Luhn (ISO/IEC 7812) check over a digit string. */
export function luhnValid (digits: string): boolean {
  let sum = 0
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48
    if (i % 2 === 1) { d *= 2; if (d > 9) d -= 9 }
    sum += d
  }
  return sum % 10 === 0
}
export function luhnCheckDigit (partial: string): string {
  for (let d = 0; d < 10; d++) if (luhnValid(partial + String(d))) return String(d)
  return '0'
}
export function isBankCard (value: string): boolean {
  const digits = value.replace(/[\s-]/g, '')
  return /^[3-6]\d{14,18}$/.test(digits) && luhnValid(digits)
}

export const EMAIL = /^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$/
export function isEmail (value: string): boolean {
  return value.length <= 254 && EMAIL.test(value)
}

/** [A-Za-z0-9._%+-], the characters of the local part of an e-mail address */
const isLocalCode = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) ||
  c === 45 || c === 46 || c === 95 || c === 37 || c === 43

/** Whether the `at` characters before the first "@" (at `at`) are the local part of an e-mail address: 1 to 64 of [A-Za-z0-9._%+-]. */
export function isEmailLocalPart (value: string, at: number): boolean {
  if (at < 1 || at > 64) return false
  for (let i = 0; i < at; i++) if (!isLocalCode(value.charCodeAt(i))) return false
  return true
}

/** Unified social credit code (GB 32100-2015): 18 characters of a 31-letter alphabet, check by MOD 31. */
const USCC_CHARS = '0123456789ABCDEFGHJKLMNPQRTUWXY'
const USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
export function isUscc (value: string): boolean {
  if (!/^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$/.test(value)) return false
  let sum = 0
  for (let i = 0; i < 17; i++) sum += USCC_CHARS.indexOf(value[i]!) * USCC_WEIGHTS[i]!
  const check = (31 - (sum % 31)) % 31
  return USCC_CHARS[check] === value[17]
}

export function isPassport (value: string): boolean {
  return /^(?:E[0-9A-HJ-NP-Z]\d{7}|[GDSP]\d{8})$/.test(value)
}

export function isLicensePlate (value: string): boolean {
  return /^[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-HJ-NP-Z][A-HJ-NP-Z0-9]{4,5}[A-HJ-NP-Z0-9挂学警]$/.test(value)
}

export const isIp = (value: string): boolean => isIPv4(value) || isIPv6(value)
export { isIPv4, isIPv6 }

/** Compound surnames (复姓): a name beginning with one of these keeps two characters as its surname. */
export const COMPOUND_SURNAMES: ReadonlySet<string> = new Set([
  '欧阳', '太史', '端木', '上官', '司马', '东方', '独孤', '南宫', '万俟', '闻人', '夏侯', '诸葛', '尉迟', '公羊', '赫连',
  '澹台', '皇甫', '宗政', '濮阳', '公冶', '太叔', '申屠', '公孙', '慕容', '仲孙', '钟离', '长孙', '宇文', '司徒', '鲜于',
  '司空', '闾丘', '子车', '亓官', '司寇', '巫马', '公西', '颛孙', '壤驷', '公良', '漆雕', '乐正', '宰父', '谷梁', '拓跋',
  '夹谷', '轩辕', '令狐', '段干', '百里', '呼延', '东郭', '南门', '羊舌', '微生', '左丘', '西门', '第五', '梁丘', '即墨'
])

/** The most common single-character surnames (about 97% of the population). */
export const SURNAMES = [...(
  '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦' +
  '付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘' +
  '祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝'
)]

/** [\u3400-\u9fff]: CJK ideographs (extension A and the unified block), as UTF-16 units */
const CJK = 0x3400
const CJK_COUNT = 0xa000 - CJK
const isCjk = (c: number) => c >= CJK && c < 0xa000
/** Single-character surnames by CJK offset (1 = a surname); compound ones by the offsets of their two characters. */
const SURNAME_FLAGS = new Uint8Array(CJK_COUNT)
for (const s of SURNAMES) if (s.length === 1 && isCjk(s.charCodeAt(0))) SURNAME_FLAGS[s.charCodeAt(0) - CJK] = 1
const pairCode = (a: number, b: number) => (a - CJK) * CJK_COUNT + (b - CJK) // < 2^30: a small integer
const COMPOUND_INDEX = new Map<number, number>()
for (const s of COMPOUND_SURNAMES) {
  if (s.length === 2 && isCjk(s.charCodeAt(0)) && isCjk(s.charCodeAt(1))) COMPOUND_INDEX.set(pairCode(s.charCodeAt(0), s.charCodeAt(1)), COMPOUND_INDEX.size)
}

/**
 * The surname of a Chinese name as a number, -1 when the value does not look like one: below
 * `CJK_COUNT` a one-character surname (its offset from U+3400), from `CJK_COUNT` on a compound one.
 * The test of `/^[\u3400-\u9fff]{2,4}(?:[·•][\u3400-\u9fff]{1,8})?$/` and the lookups, without
 * allocating: the per-row name mask needs no more than this and the value's length.
 */
export function chineseSurnameCode (value: string): number {
  const n = value.length
  let head = 0
  while (head < 5 && isCjk(value.charCodeAt(head))) head++ // NaN past the end
  if (head < 2 || head > 4) return -1
  if (head < n) { // ·given names (a transliterated or minority name): 1 to 8 more characters
    const dot = value.charCodeAt(head)
    if ((dot !== 0xb7 && dot !== 0x2022) || n - head - 1 < 1 || n - head - 1 > 8) return -1
    for (let i = head + 1; i < n; i++) if (!isCjk(value.charCodeAt(i))) return -1
  }
  const first = value.charCodeAt(0)
  if (n >= 3) {
    const compound = COMPOUND_INDEX.get(pairCode(first, value.charCodeAt(1)))
    if (compound !== undefined) return CJK_COUNT + compound
  }
  return SURNAME_FLAGS[first - CJK] === 1 ? first - CJK : -1
}

/** The number of characters of the surname `chineseSurnameCode` gave. */
export const surnameLength = (code: number): number => code >= CJK_COUNT ? 2 : 1

/** The surname of a Chinese name (one or two characters), or null when the value does not look like one. */
export function chineseSurname (value: string): string | null {
  const code = chineseSurnameCode(value)
  return code < 0 ? null : value.slice(0, surnameLength(code))
}

/** The 56 ethnic groups of GB/T 3304-1991, in code order (01 汉族 … 56 基诺族). */
export const ETHNICITIES = [
  '汉族', '蒙古族', '回族', '藏族', '维吾尔族', '苗族', '彝族', '壮族', '布依族', '朝鲜族', '满族', '侗族', '瑶族', '白族',
  '土家族', '哈尼族', '哈萨克族', '傣族', '黎族', '傈僳族', '佤族', '畲族', '高山族', '拉祜族', '水族', '东乡族', '纳西族',
  '景颇族', '柯尔克孜族', '土族', '达斡尔族', '仫佬族', '羌族', '布朗族', '撒拉族', '毛南族', '仡佬族', '锡伯族', '阿昌族',
  '普米族', '塔吉克族', '怒族', '乌孜别克族', '俄罗斯族', '鄂温克族', '德昂族', '保安族', '裕固族', '京族', '塔塔尔族',
  '独龙族', '鄂伦春族', '赫哲族', '门巴族', '珞巴族', '基诺族'
] as const
const ETHNICITY_SET: ReadonlySet<string> = new Set([...ETHNICITIES, ...ETHNICITIES.map((e) => e.slice(0, -1))])
export const isEthnicity = (value: string): boolean => ETHNICITY_SET.has(value)

const RELIGIONS: ReadonlySet<string> = new Set([
  '佛教', '道教', '伊斯兰教', '天主教', '基督教', '基督新教', '东正教', '藏传佛教', '犹太教', '印度教',
  'buddhism', 'taoism', 'islam', 'catholicism', 'christianity', 'protestantism', 'orthodox', 'judaism', 'hinduism'
])
export const isReligion = (value: string): boolean => RELIGIONS.has(value.toLowerCase())

/**
 * A Chinese address split into province, city and district (省/市/区县). Municipalities (北京市…) are
 * their own province and city. Null when no administrative division is recognised.
 */
export const ADDRESS = /^((?:[\u3400-\u9fff]{2,7}?(?:省|自治区|特别行政区))|北京市|天津市|上海市|重庆市)?([\u3400-\u9fff]{1,9}?(?:自治州|地区|盟|市))?([\u3400-\u9fff]{1,9}?(?:区|县|旗|市))?/
/** The three groups of `ADDRESS`, each matched where the one before it ended (sticky: no match array). */
const PROVINCE = /(?:[\u3400-\u9fff]{2,7}?(?:省|自治区|特别行政区))|北京市|天津市|上海市|重庆市/y
const CITY = /[\u3400-\u9fff]{1,9}?(?:自治州|地区|盟|市)/y
const DISTRICT = /[\u3400-\u9fff]{1,9}?(?:区|县|旗|市)/y
const MUNICIPALITIES = ['北京市', '天津市', '上海市', '重庆市']

export interface AddressParts { province: string, city: string, district: string, rest: string }
export function parseAddress (value: string): AddressParts | null {
  const ends = addressEnds(value)
  if (ends < 0) return null
  const p = provinceEnd(ends); const c = cityEnd(ends); const d = districtEnd(ends)
  const province = value.slice(0, p)
  const city = c > p ? value.slice(p, c) : (p === 3 && MUNICIPALITIES.includes(province) ? province : '')
  return { province, city, district: value.slice(c, d), rest: value.slice(d) }
}

/** Where `group` matching at `from` ends; `from` when it does not match there. */
function groupEnd (group: RegExp, s: string, from: number): number {
  group.lastIndex = from
  return group.test(s) ? group.lastIndex : from
}

/**
 * Where the province, city and district of an address end as `ADDRESS` matches them, packed in one
 * number (read with provinceEnd, cityEnd, districtEnd; a part that is absent ends where the one
 * before it does, 0 at the start), or -1 when neither a province nor a city is recognised. Each
 * group of the regex is tried where the one before it ended, as in the whole: every group is
 * optional and nothing follows them, so the first way each can match is the match. Without the
 * match array and slices; each end is below 64 (at most 12 + 12 + 10). Without `district`, the
 * district is not looked for (it then ends where the city does).
 */
export function addressEnds (s: string, district = true): number {
  const p = groupEnd(PROVINCE, s, 0)
  const c = groupEnd(CITY, s, p)
  if (c === 0) return -1
  const d = district ? groupEnd(DISTRICT, s, c) : c
  return p | (c << 6) | (d << 12)
}
export const provinceEnd = (ends: number): number => ends & 63
export const cityEnd = (ends: number): number => (ends >> 6) & 63
export const districtEnd = (ends: number): number => ends >> 12

/** Whether the city of an address is its province written again (北京市北京市…): the levels leave it out. */
export function cityRepeatsProvince (s: string, ends: number): boolean {
  const p = provinceEnd(ends)
  if (p === 0 || cityEnd(ends) - p !== p) return false
  for (let i = 0; i < p; i++) if (s.charCodeAt(i) !== s.charCodeAt(p + i)) return false
  return true
}

/** The number written by ASCII digits from `start` to `end`, -1 if any is not a digit. */
function digits (s: string, start: number, end: number): number {
  let n = 0
  for (let i = start; i < end; i++) {
    const d = s.charCodeAt(i) - 48
    if (d < 0 || d > 9) return -1
    n = n * 10 + d
  }
  return n
}

/** Dates written as YYYY-MM-DD, YYYY/MM/DD, YYYYMMDD or an ISO timestamp; null for anything else. */
export function parseDate (value: string): { year: number, month: number, day: number } | null {
  if (value.length === 10 && value.charCodeAt(4) === 45 && value.charCodeAt(7) === 45) {
    // the common ISO date, YYYY-MM-DD, without the regex
    const year = digits(value, 0, 4); const month = digits(value, 5, 7); const day = digits(value, 8, 10)
    if (year >= 0 && month >= 0 && day >= 0) return isCalendarDate(year, month, day) ? { year, month, day } : null
  }
  const m = /^(\d{4})[-/]?(\d{2})[-/]?(\d{2})(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/.exec(value)
  if (!m) return null
  const year = Number(m[1]); const month = Number(m[2]); const day = Number(m[3])
  return isCalendarDate(year, month, day) ? { year, month, day } : null
}

/** parseDate(value)?.year, -1 for no date: the ISO date read without allocating. */
export function dateYear (value: string): number {
  const day = isoDay(value)
  return day >= 0 ? Math.floor(day / 10000) : (parseDate(value)?.year ?? -1)
}

/** A calendar date written YYYY-MM-DD as the number YYYYMMDD, without allocating; -1 for any other text. */
export function isoDay (value: string): number {
  if (value.length !== 10 || value.charCodeAt(4) !== 45 || value.charCodeAt(7) !== 45) return -1
  const year = digits(value, 0, 4); const month = digits(value, 5, 7); const day = digits(value, 8, 10)
  return year >= 0 && month >= 0 && day >= 0 && isCalendarDate(year, month, day) ? year * 10000 + month * 100 + day : -1
}

/** Age in whole years on `today`. */
export function ageOn (birth: { year: number, month: number, day: number }, today: Date): number {
  const y = today.getUTCFullYear(); const m = today.getUTCMonth() + 1; const d = today.getUTCDate()
  return y - birth.year - (m < birth.month || (m === birth.month && d < birth.day) ? 1 : 0)
}
