// tap's `before` script: builds the migrated database templates once, before the test files run in
// parallel, so that no test pays for initdb.
import { TEST_DATABASE_URL, pgliteTemplate, postgresTemplate } from './database.js'

await pgliteTemplate()
if (TEST_DATABASE_URL) await postgresTemplate()
