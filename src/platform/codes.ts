import { Type } from 'typebox'

/** Codes that name a unit or a dataset: every service takes them in paths and bodies. */
export const UnitCodeSchema = Type.String({
  pattern: '^[A-Za-z0-9_-]{1,32}$',
  description: 'unit code: letters, digits, _ and -, at most 32',
  examples: ['CS']
})

export const DatasetCodeSchema = Type.String({
  pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'dataset code: letters, digits, _ and -, at most 64', examples: ['student_basic']
})
