// Owner: the gateway's data-access path. Two small tables that let every gateway process keep the
// grants, datasets and masking policies it needs in memory and still see a change within a second:
// - data_path_versions: one counter per source, moved by statement triggers on the tables the data
//   path caches, so that one cheap poll says whether anything changed;
// - grant_usage: rows read under each grant per campus day, the shared state of daily row quotas
//   (each process adds what it served, a few times a second).
import { sql, type Kysely } from 'kysely'

const SOURCES: Record<string, string[]> = {
  grants: ['grants'],
  catalog: ['datasets', 'masking_policies']
}

export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.createTable('data_path_versions')
    .addColumn('source', 'text', (c) => c.primaryKey())
    .addColumn('version', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute()
  await sql`insert into data_path_versions (source) values ${sql.join(Object.keys(SOURCES).map((s) => sql`(${s})`))}`.execute(db)
  await sql`
    create function data_path_bump() returns trigger language plpgsql as $$
    begin
      update data_path_versions set version = version + 1 where source = tg_argv[0];
      return null;
    end $$`.execute(db)
  for (const [source, tables] of Object.entries(SOURCES)) {
    for (const table of tables) {
      await sql`create trigger ${sql.raw(`${table}_data_path_bump`)}
        after insert or update or delete on ${sql.table(table)}
        for each statement execute function data_path_bump(${sql.lit(source)})`.execute(db)
    }
  }

  await db.schema.createTable('grant_usage')
    .addColumn('grant_id', 'uuid', (c) => c.notNull().references('grants.id').onDelete('cascade'))
    .addColumn('day', 'date', (c) => c.notNull())
    .addColumn('rows', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('grant_usage_pk', ['grant_id', 'day'])
    .execute()
}

export async function down (db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('grant_usage').execute()
  for (const tables of Object.values(SOURCES)) {
    for (const table of tables) await sql`drop trigger ${sql.raw(`${table}_data_path_bump`)} on ${sql.table(table)}`.execute(db)
  }
  await sql`drop function data_path_bump()`.execute(db)
  await db.schema.dropTable('data_path_versions').execute()
}
