import createError from '@fastify/error'

export const UnitNotFoundError = createError<[string]>('CATALOG_UNIT_NOT_FOUND', 'no unit with code %s', 404)
export const UnitExistsError = createError<[string]>('CATALOG_UNIT_EXISTS', 'a unit with code %s already exists', 409)
export const DatasetNotFoundError = createError<[string]>('CATALOG_DATASET_NOT_FOUND', 'no dataset with code %s', 404)
export const DatasetExistsError = createError<[string]>('CATALOG_DATASET_EXISTS', 'a dataset with code %s already exists', 409)
export const SubjectTakenError = createError<[string, string, string]>('CATALOG_SUBJECT_TAKEN',
  'the subject "%s" already has its authoritative source: dataset %s of unit %s (one data, one source)', 409)
export const DatasetStateError = createError<[string]>('CATALOG_DATASET_STATE', '%s', 409)
export const NotProducerError = createError<[string]>('CATALOG_NOT_PRODUCER', '%s', 403)
export const GradingConflictError = createError<[string]>('CATALOG_GRADING_CONFLICT', '%s', 409)
export const SystemNotFoundError = createError<[string]>('CATALOG_SYSTEM_NOT_FOUND', 'no business system with id %s', 404)
export const SystemExistsError = createError<[string, string]>('CATALOG_SYSTEM_EXISTS', 'unit %s already has a business system named "%s"', 409)
export const SystemForbiddenError = createError<[string]>('CATALOG_SYSTEM_FORBIDDEN', '%s', 403)
export const GradingUnconfirmedError = createError<[string]>('CATALOG_GRADING_UNCONFIRMED',
  'the grading of dataset %s awaits the office\'s confirmation (POST /api/v1/datasets/{code}/grading-review)', 409)
export const CollectionUnconfirmedError = createError<[string]>('CATALOG_COLLECTION_UNCONFIRMED',
  'dataset %s holds sensitive or children\'s personal information: no record is collected before the office confirms its grading and collection', 409)
