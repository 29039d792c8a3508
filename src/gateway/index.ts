/**
 * The gateway's public entry: it is the top of the services, so nothing but its table types, for the
 * Database interface of src/db/database.ts. See docs/architecture.md.
 */
export type { DataPathVersionTable, GrantUsageTable } from './data/table.js'
export type { ExportStatus, ExportTable, ExportRow, NewExport, ExportDecoyTable, ExportDecoy } from './exports/table.js'
