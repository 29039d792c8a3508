import type { ColumnType } from 'kysely'

/** Column types several tables share; each table's own type lives beside its feature (`<feature>/table.ts`). */

/** Timestamps come back as Date, may be written as Date or ISO string, and default in SQL. */
export type CreatedAt = ColumnType<Date, Date | string | undefined, never>
export type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>
export type NullableTime = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
/** a calendar day, `YYYY-MM-DD` (both drivers return dates as text) */
export type Day = string
/** JSON written as text, read back parsed */
export type JsonColumn<T> = ColumnType<T, string, string>
/** a bigint counter: text when read, a number or text when written, zero by default */
export type BigCount = ColumnType<string, number | string | undefined, number | string>
