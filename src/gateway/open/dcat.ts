import type { Static } from 'typebox'
import type { OpenDataset } from '../../catalog/index.js'
import type { CatalogSchema } from './schemas.js'

type Catalog = Static<typeof CatalogSchema>
type CatalogDataset = Catalog['dcat:dataset'][number]

/**
 * JSON-LD context of the catalog. IRIs and dates are plain strings in the document, typed here, so
 * that integrators read ordinary JSON and linked-data tools still get IRIs and xsd:dateTime values.
 */
export const CATALOG_CONTEXT = {
  dcat: 'http://www.w3.org/ns/dcat#',
  dct: 'http://purl.org/dc/terms/',
  foaf: 'http://xmlns.com/foaf/0.1/',
  xsd: 'http://www.w3.org/2001/XMLSchema#',
  datagate: 'urn:datagate:open:',
  'dct:license': { '@type': '@id' },
  'dct:accessRights': { '@type': '@id' },
  'dct:accrualPeriodicity': { '@type': '@id' },
  'dcat:accessURL': { '@type': '@id' },
  'dcat:downloadURL': { '@type': '@id' },
  'dcat:mediaType': { '@type': '@id' },
  'dct:issued': { '@type': 'xsd:dateTime' },
  'dct:modified': { '@type': 'xsd:dateTime' },
  nextCursor: 'datagate:nextCursor'
} as const

const FREQUENCY = 'http://publications.europa.eu/resource/authority/frequency/'
/** The catalog's update frequencies in the EU frequency authority table (as DCAT-AP uses it). */
const FREQUENCIES: Record<string, string> = {
  realtime: 'UPDATE_CONT',
  daily: 'DAILY',
  weekly: 'WEEKLY',
  monthly: 'MONTHLY',
  quarterly: 'QUARTERLY',
  yearly: 'ANNUAL',
  on_demand: 'IRREG'
}
const ACCESS_RIGHTS = 'http://publications.europa.eu/resource/authority/access-right/'
const MEDIA_TYPES = 'https://www.iana.org/assignments/media-types/'

export interface CatalogContext {
  /** public address of the deployment, no trailing slash */
  base: string
  license: string
  publishers: ReadonlyMap<string, string>
  lastIngest: ReadonlyMap<string, Date>
}

function datasetEntry ({ dataset, since }: OpenDataset, c: CatalogContext): CatalogDataset {
  const records = `${c.base}/open/v1/datasets/${encodeURIComponent(dataset.code)}/records`
  const unconditional = dataset.open_attribute === 'unconditional'
  const ingested = c.lastIngest.get(dataset.code)
  const modified = ingested && ingested > dataset.updated_at ? ingested : dataset.updated_at
  const download = (format: 'csv' | 'json', mediaType: string) => ({
    '@type': 'dcat:Distribution' as const,
    'dct:title': `${dataset.name} (${format.toUpperCase()})`,
    'dct:description': 'Every record, masked for the public (personal information never leaves raw), a page at a time: follow nextCursor',
    'dcat:accessURL': records,
    'dcat:downloadURL': `${records}?format=${format}`,
    'dcat:mediaType': `${MEDIA_TYPES}${mediaType}`,
    'dct:format': format.toUpperCase(),
    'dct:license': c.license
  })
  return {
    '@id': `${c.base}/open/v1/catalog#${encodeURIComponent(dataset.code)}`,
    '@type': 'dcat:Dataset',
    'dct:identifier': dataset.code,
    'dct:title': dataset.name,
    'dct:description': dataset.description ?? '',
    'dct:publisher': { '@type': 'foaf:Organization', 'dct:identifier': dataset.producer_unit, 'foaf:name': c.publishers.get(dataset.producer_unit) ?? dataset.producer_unit },
    'dct:license': c.license,
    'dct:accessRights': `${ACCESS_RIGHTS}${unconditional ? 'PUBLIC' : 'RESTRICTED'}`,
    'dct:accrualPeriodicity': `${FREQUENCY}${FREQUENCIES[dataset.update_frequency] ?? 'UNKNOWN'}`,
    'dct:issued': since.toISOString(),
    'dct:modified': modified.toISOString(),
    'dcat:keyword': [...new Set([dataset.category, dataset.subject])],
    'dcat:theme': dataset.category,
    'datagate:openAttribute': unconditional ? 'unconditional' : 'conditional',
    'dcat:distribution': unconditional
      ? [download('csv', 'text/csv'), download('json', 'application/json')]
      : [{
          '@type': 'dcat:Distribution',
          'dct:title': `${dataset.name} (on request)`,
          'dct:description': 'Conditional open: file an open request stating who you are, your purpose, the fields and the scope of use; the data-management office decides',
          'dcat:accessURL': `${c.base}/api/v1/open-requests`,
          'dct:license': c.license
        }]
  }
}

/** One page of the open catalog as a DCAT catalog. */
export function catalogDocument (datasets: readonly OpenDataset[], c: CatalogContext, nextCursor: string | null): Catalog {
  return {
    '@context': CATALOG_CONTEXT,
    '@id': `${c.base}/open/v1/catalog`,
    '@type': 'dcat:Catalog',
    'dct:title': 'Open data catalog',
    'dct:description': 'Datasets the university opens to the public (unconditional) or to applicants meeting stated conditions (conditional), ' +
      'each after a three-level confidentiality review by its producer unit, the data-management office and the leading group',
    'dct:license': c.license,
    'dcat:dataset': datasets.map((d) => datasetEntry(d, c)),
    nextCursor
  }
}
