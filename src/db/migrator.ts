import { existsSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { join } from 'node:path'
import { Migrator, type Kysely, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely'

/**
 * Migrations live in `migrations/` at the project root (run from source, or from the test build,
 * which compiles the tree as it is) or in `dist/migrations` (the build): each at its place relative
 * to this module's own folder.
 */
const here = fileURLToPath(new URL('.', import.meta.url))
const fromSource = import.meta.url.endsWith('.ts')
export const migrationsDir = fromSource || !existsSync(join(here, '../migrations')) ? join(here, '../../migrations') : join(here, '../migrations')

class FolderMigrationProvider implements MigrationProvider {
  constructor (private readonly dir: string) {}

  async getMigrations (): Promise<Record<string, Migration>> {
    const files = (await readdir(this.dir))
      .filter((f) => /^\d{4}_[a-z0-9_]+\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'))
      .sort()
    const migrations: Record<string, Migration> = {}
    for (const file of files) {
      const module = await import(pathToFileURL(join(this.dir, file)).href) as Migration
      migrations[file.replace(/\.(ts|js)$/, '')] = { up: module.up, down: module.down }
    }
    return migrations
  }
}

export function createMigrator (db: Kysely<any>): Migrator {
  return new Migrator({ db, provider: new FolderMigrationProvider(migrationsDir) })
}

export class MigrationError extends Error {
  constructor (message: string, readonly results: MigrationResultSet['results']) {
    super(message)
    this.name = 'MigrationError'
  }
}

function check ({ error, results }: MigrationResultSet): NonNullable<MigrationResultSet['results']> {
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown'
    throw new MigrationError(`migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`, results)
  }
  return results ?? []
}

export async function migrateToLatest (db: Kysely<any>) {
  return check(await createMigrator(db).migrateToLatest())
}

export async function migrateDown (db: Kysely<any>) {
  return check(await createMigrator(db).migrateDown())
}

export interface MigrationStatus { name: string, executedAt: Date | null }

export async function migrationStatus (db: Kysely<any>): Promise<MigrationStatus[]> {
  const list = await createMigrator(db).getMigrations()
  return list.map((m) => ({ name: m.name, executedAt: m.executedAt ?? null }))
}

/** Names of migrations not applied yet: a distributed service refuses to start while any remain. */
export async function pendingMigrations (db: Kysely<any>): Promise<string[]> {
  return (await migrationStatus(db)).filter((m) => m.executedAt === null).map((m) => m.name)
}
