import { isIPv4, isIPv6 } from 'node:net'
import { idNumberCheckCharacter, isCalendarDate } from '../catalog/records/id-number.js'

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
const SURNAME_SET: ReadonlySet<string> = new Set(SURNAMES)

/** The surname of a Chinese name (one or two characters), or null when the value does not look like one. */
export function chineseSurname (value: string): string | null {
  if (!/^[\u3400-\u9fff]{2,4}(?:[·•][\u3400-\u9fff]{1,8})?$/.test(value)) return null
  const two = value.slice(0, 2)
  if (COMPOUND_SURNAMES.has(two) && value.length >= 3) return two
  return SURNAME_SET.has(value[0]!) ? value[0]! : null
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
const ADDRESS = /^((?:[\u3400-\u9fff]{2,7}?(?:省|自治区|特别行政区))|北京市|天津市|上海市|重庆市)?([\u3400-\u9fff]{1,9}?(?:自治州|地区|盟|市))?([\u3400-\u9fff]{1,9}?(?:区|县|旗|市))?/
export interface AddressParts { province: string, city: string, district: string, rest: string }
export function parseAddress (value: string): AddressParts | null {
  const m = ADDRESS.exec(value)
  if (!m || (!m[1] && !m[2])) return null
  const province = m[1] ?? ''
  const city = m[2] ?? (/^(北京|天津|上海|重庆)市$/.test(province) ? province : '')
  return { province, city, district: m[3] ?? '', rest: value.slice(m[0].length) }
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

/** Age in whole years on `today`. */
export function ageOn (birth: { year: number, month: number, day: number }, today: Date): number {
  const y = today.getUTCFullYear(); const m = today.getUTCMonth() + 1; const d = today.getUTCDate()
  return y - birth.year - (m < birth.month || (m === birth.month && d < birth.day) ? 1 : 0)
}
