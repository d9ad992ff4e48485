/** A parameterised SQL statement, built by the small pure builders in `src/store/` (pg-boss style). */
export interface Sql {
  text: string;
  values: unknown[];
}

/** Anything that can run a statement: a `pg.Pool`, a `pg.PoolClient` inside a transaction. */
export interface Queryable {
  query<R extends Record<string, unknown> = Record<string, unknown>>(
    text: string,
    values?: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }>;
}

/** Runs a builder's statement and returns its rows. */
export async function run<R extends Record<string, unknown>>(db: Queryable, sql: Sql): Promise<R[]> {
  const result = await db.query<R>(sql.text, sql.values);
  return result.rows;
}
