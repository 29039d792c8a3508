import { Type } from 'typebox'

/** Largest suspected file a trace takes. */
export const TRACE_BODY_LIMIT = 50 * 1024 * 1024

export const TraceJsonBodySchema = Type.Object({
  csv: Type.String({ minLength: 1, maxLength: TRACE_BODY_LIMIT, description: 'the suspected file: CSV with a header line naming the columns' })
}, { additionalProperties: false })

const Id = Type.String({ format: 'uuid' })

export const TraceMatchSchema = Type.Object({
  export: Id,
  grant: Id,
  dataset: Type.String(),
  unit: Type.String({ description: 'the unit that exported it' }),
  sub: Type.String({ description: 'the person (token subject) who exported it' }),
  client: Type.Union([Type.String(), Type.Null()], { description: 'the service client it was exported through' }),
  createdAt: Type.String({ format: 'date-time' }),
  confidence: Type.Number({ minimum: 0, maximum: 1, description: '1 − the chance that a file not from this export shows this evidence (corrected for the exports compared)' }),
  evidence: Type.Object({
    cellsChecked: Type.Integer({ description: 'cells carrying an invisible mark' }),
    cellsMatched: Type.Integer({ description: 'of those, cells whose mark is this export\'s' }),
    valuesChecked: Type.Integer({ description: 'distinct marked values compared (the unit of the statistics)' }),
    valuesMatched: Type.Integer(),
    decoysFound: Type.Integer({ description: 'decoy rows of this export found in the file' })
  })
})

export const TraceResultSchema = Type.Object({
  matches: Type.Array(TraceMatchSchema, { description: 'the exports the file comes from, most certain first; empty when none reaches a confidence of 0.999999' }),
  rowsChecked: Type.Integer(),
  rowsSkipped: Type.Integer({ description: 'rows whose cell count differs from the header\'s' }),
  columns: Type.Array(Type.String()),
  candidatesChecked: Type.Integer({ description: 'exports compared' }),
  unverifiable: Type.Integer({ description: 'candidate exports whose watermark key the current masking secret no longer derives' })
}, {
  description: 'Where a leaked file came from',
  examples: [{
    matches: [{
      export: '3c0d7a52-8e1f-4b6a-9d2c-5e4f3a2b1c0d',
      grant: '7d1f0e2a-3b4c-4d5e-8f90-a1b2c3d4e5f6',
      dataset: 'students',
      unit: 'MATH',
      sub: 'math-reader',
      client: null,
      createdAt: '2026-11-24T08:00:00.000Z',
      confidence: 1,
      evidence: { cellsChecked: 300, cellsMatched: 300, valuesChecked: 152, valuesMatched: 152, decoysFound: 0 }
    }],
    rowsChecked: 150,
    rowsSkipped: 0,
    columns: ['name', 'phone'],
    candidatesChecked: 12,
    unverifiable: 0
  }]
})
