import { getTableColumns, type Table } from 'drizzle-orm';

/** SQL column name (snake_case) of each field (camelCase) of table `T`, read from its drizzle schema. */
type ColumnNames<T extends Table> = { [K in keyof T['_']['columns']]: T['_']['columns'][K]['_']['name'] };

/**
 * A row of table `T` as postgres.js returns it: SQL column names (snake_case) with the schema's value
 * types (`$inferSelect`). Queries select whole rows as `sql<XRow[]>` and some columns as
 * `sql<Pick<XRow, …>[]>`; nobody writes a row type by hand (ADR 0018).
 */
export type RowOf<T extends Table> = {
  [K in keyof T['$inferSelect'] as ColumnNames<T>[K & keyof ColumnNames<T>]]: T['$inferSelect'][K];
};

/** The camelCase object `rowMapper(table)` makes from row `R`: one field per column `R` holds, typed as in `R`. */
export type FromRow<T extends Table, R> = {
  [K in keyof T['$inferSelect'] as ColumnNames<T>[K & keyof ColumnNames<T>] extends keyof R ? K : never]: R[ColumnNames<T>[K &
    keyof ColumnNames<T>] &
    keyof R];
};

/**
 * The one snake_case → camelCase mapper of a table, derived from its schema. It maps whichever of the
 * table's columns the row holds, in the order the query selected them (a query of some columns gives
 * an object of just those fields), and leaves other keys out (joined columns, computed values: the
 * caller adds those by name).
 */
export function rowMapper<T extends Table>(table: T): <R extends Partial<RowOf<T>>>(row: R) => FromRow<T, R> {
  const fieldOf = new Map(Object.entries(getTableColumns(table)).map(([field, column]) => [column.name, field]));
  return <R extends Partial<RowOf<T>>>(row: R): FromRow<T, R> => {
    const out: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(row)) {
      const field = fieldOf.get(name);
      if (field !== undefined) out[field] = value;
    }
    return out as FromRow<T, R>;
  };
}

/**
 * Row `T` as it arrives inside `json_build_object` / `json_agg` (one query reading a parent and its
 * children): timestamps are ISO text there, everything else keeps its type.
 */
export type JsonRow<T> = { [K in keyof T]: T[K] extends Date ? string : Date extends T[K] ? Exclude<T[K], Date> | string : T[K] };
