import { Type } from 'typebox'

export const OPEN_MAX_LIMIT = 1000
export const OPEN_DEFAULT_LIMIT = 100
export const CATALOG_MAX_LIMIT = 200
export const OPEN_FORMATS = ['json', 'csv'] as const
export type OpenFormat = typeof OPEN_FORMATS[number]

const Cursor = (description: string, maxLength: number) => Type.Optional(Type.String({ minLength: 1, maxLength, pattern: '^[A-Za-z0-9_-]+$', description }))

export const OpenDatasetParamsSchema = Type.Object({
  code: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'the dataset code, as the open catalog gives it (`dct:identifier`)', examples: ['course_catalog'] })
})

export const OpenRecordsQuerySchema = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: OPEN_MAX_LIMIT, default: OPEN_DEFAULT_LIMIT, description: `rows per page (at most ${OPEN_MAX_LIMIT})` }),
  cursor: Cursor('the `nextCursor` of the previous page (opaque and sealed: the record keys stay hidden)', 2800),
  format: Type.Optional(Type.Enum([...OPEN_FORMATS], { description: 'json (default) or csv; `Accept: text/csv` chooses CSV too' }))
}, { additionalProperties: false })

export const OpenRecordsPageSchema = Type.Object({
  dataset: Type.String({ description: 'the dataset code' }),
  data: Type.Array(Type.Record(Type.String(), Type.Unknown()), { description: 'the rows, masked for the public: personal information never leaves raw' }),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'cursor of the next page; null on the last page' }),
  masked: Type.Array(Type.String(), { description: 'fields masked, pseudonymised, generalised or withheld' })
}, {
  description: 'One page of an unconditional-open dataset. The audit event of the download is in the X-Audit-Event header.',
  examples: [{
    dataset: 'course_catalog',
    data: [
      { course_code: 'CS101', title: 'Introduction to Programming', credits: 4, teacher: '王*' },
      { course_code: 'CS102', title: 'Data Structures', credits: 4, teacher: '李*' }
    ],
    nextCursor: 'c2VhbGVkLWN1cnNvcg',
    masked: ['teacher']
  }]
})

export const CatalogQuerySchema = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: CATALOG_MAX_LIMIT, default: 100, description: `datasets per page (at most ${CATALOG_MAX_LIMIT})` }),
  cursor: Cursor('the `nextCursor` of the previous page', 512)
}, { additionalProperties: false })

const DistributionSchema = Type.Object({
  '@type': Type.Literal('dcat:Distribution'),
  'dct:title': Type.String(),
  'dct:description': Type.String(),
  'dcat:accessURL': Type.String({ description: 'where the data is reached (an API, or where to apply for it)' }),
  'dcat:downloadURL': Type.Optional(Type.String({ description: 'the download itself, without a token' })),
  'dcat:mediaType': Type.Optional(Type.String({ description: 'IANA media type, as its IANA IRI' })),
  'dct:format': Type.Optional(Type.String()),
  'dct:license': Type.String()
})

const CatalogDatasetSchema = Type.Object({
  '@id': Type.String(),
  '@type': Type.Literal('dcat:Dataset'),
  'dct:identifier': Type.String({ description: 'the dataset code' }),
  'dct:title': Type.String(),
  'dct:description': Type.String(),
  'dct:publisher': Type.Object({
    '@type': Type.Literal('foaf:Organization'),
    'dct:identifier': Type.String({ description: 'the producer unit\'s code' }),
    'foaf:name': Type.String()
  }, { description: 'the producer unit: the one authoritative source of the data' }),
  'dct:license': Type.String(),
  'dct:accessRights': Type.String({ description: 'EU access-right authority: PUBLIC (unconditional open) or RESTRICTED (conditional open)' }),
  'dct:accrualPeriodicity': Type.String({ description: 'EU frequency authority: how often the data is updated' }),
  'dct:issued': Type.String({ description: 'when the dataset entered the open catalog (the leading group\'s approval)' }),
  'dct:modified': Type.String({ description: 'last change of the entry or of its records' }),
  'dcat:keyword': Type.Array(Type.String()),
  'dcat:theme': Type.String({ description: 'the catalog category (student, staff, teaching, asset, research, school, routine)' }),
  'datagate:openAttribute': Type.Enum(['unconditional', 'conditional'], { description: 'unconditional: downloadable by anyone; conditional: on an approved open request' }),
  'dcat:distribution': Type.Array(DistributionSchema)
})

export const CatalogSchema = Type.Object({
  '@context': Type.Record(Type.String(), Type.Unknown(), { description: 'JSON-LD context: DCAT, Dublin Core terms, FOAF' }),
  '@id': Type.String(),
  '@type': Type.Literal('dcat:Catalog'),
  'dct:title': Type.String(),
  'dct:description': Type.String(),
  'dct:license': Type.String(),
  'dcat:dataset': Type.Array(CatalogDatasetSchema),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'cursor of the next page; null on the last page' })
}, {
  description: 'The open catalog as DCAT JSON-LD (application/ld+json): every dataset that passed the three-level open review',
  examples: [{
    '@context': { dcat: 'http://www.w3.org/ns/dcat#', dct: 'http://purl.org/dc/terms/', foaf: 'http://xmlns.com/foaf/0.1/' },
    '@id': 'https://data.example.edu.cn/open/v1/catalog',
    '@type': 'dcat:Catalog',
    'dct:title': 'Open data catalog',
    'dct:description': 'Datasets the university opens to the public, after a three-level confidentiality review',
    'dct:license': 'https://creativecommons.org/licenses/by/4.0/',
    'dcat:dataset': [{
      '@id': 'https://data.example.edu.cn/open/v1/catalog#course_catalog',
      '@type': 'dcat:Dataset',
      'dct:identifier': 'course_catalog',
      'dct:title': 'Course catalog',
      'dct:description': 'Courses offered each term',
      'dct:publisher': { '@type': 'foaf:Organization', 'dct:identifier': 'ACAD', 'foaf:name': 'Academic Affairs Office' },
      'dct:license': 'https://creativecommons.org/licenses/by/4.0/',
      'dct:accessRights': 'http://publications.europa.eu/resource/authority/access-right/PUBLIC',
      'dct:accrualPeriodicity': 'http://publications.europa.eu/resource/authority/frequency/DAILY',
      'dct:issued': '2026-12-03T08:00:00.000Z',
      'dct:modified': '2026-12-05T02:00:00.000Z',
      'dcat:keyword': ['teaching', 'courses'],
      'dcat:theme': 'teaching',
      'datagate:openAttribute': 'unconditional',
      'dcat:distribution': [{
        '@type': 'dcat:Distribution',
        'dct:title': 'course_catalog (CSV)',
        'dct:description': 'All records, masked for the public, a page at a time',
        'dcat:accessURL': 'https://data.example.edu.cn/open/v1/datasets/course_catalog/records',
        'dcat:downloadURL': 'https://data.example.edu.cn/open/v1/datasets/course_catalog/records?format=csv',
        'dcat:mediaType': 'https://www.iana.org/assignments/media-types/text/csv',
        'dct:format': 'CSV',
        'dct:license': 'https://creativecommons.org/licenses/by/4.0/'
      }]
    }],
    nextCursor: null
  }]
})
