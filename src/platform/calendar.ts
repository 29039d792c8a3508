import { sql, type RawBuilder } from 'kysely'

/**
 * The campus calendar: China Standard Time (UTC+8, no daylight saving), Monday to Friday, with the
 * public holidays and the weekend days worked instead (调休) that the configuration names. Review
 * deadlines, grant validity and off-hours alerts all read time through it.
 */
const CAMPUS_OFFSET_MS = 8 * 3_600_000

/** Today on the campus calendar, YYYY-MM-DD. */
export function campusToday (now = new Date()): string {
  return new Date(now.getTime() + CAMPUS_OFFSET_MS).toISOString().slice(0, 10)
}

/** A time as the campus calendar reads it, in SQL: a timestamp without zone. */
export const campusTime = (time: RawBuilder<unknown>) => sql`(((${time}) at time zone 'UTC') + interval '8 hours')`

/** Today on the campus calendar, in SQL. */
export const CAMPUS_TODAY = sql<string>`${campusTime(sql`now()`)}::date`

/** The calendar's exceptions to Monday–Friday: public holidays, and weekend days worked instead. */
export interface CampusCalendar {
  holidays: ReadonlySet<string>
  workdays: ReadonlySet<string>
}

const days = (list: string | undefined): ReadonlySet<string> => new Set((list ?? '').split(',').map((d) => d.trim()).filter(Boolean))

export function campusCalendar (config: { CAMPUS_HOLIDAYS?: string | undefined, CAMPUS_WORKDAYS?: string | undefined }): CampusCalendar {
  return { holidays: days(config.CAMPUS_HOLIDAYS), workdays: days(config.CAMPUS_WORKDAYS) }
}

const WEEKDAYS_ONLY: CampusCalendar = { holidays: new Set(), workdays: new Set() }

/**
 * The time `count` working days after `from`: Saturdays, Sundays and the holidays do not count, the
 * make-up workdays do.
 */
export function addWorkingDays (from: Date, count: number, calendar: CampusCalendar = WEEKDAYS_ONLY): Date {
  const local = new Date(from.getTime() + CAMPUS_OFFSET_MS)
  let left = count
  while (left > 0) {
    local.setUTCDate(local.getUTCDate() + 1)
    const day = local.toISOString().slice(0, 10)
    const weekday = local.getUTCDay()
    const working = calendar.workdays.has(day) || (weekday !== 0 && weekday !== 6 && !calendar.holidays.has(day))
    if (working) left--
  }
  return new Date(local.getTime() - CAMPUS_OFFSET_MS)
}
