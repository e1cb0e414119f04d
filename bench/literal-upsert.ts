/**
 * The fastest D1 write known (issue 21): multi-row `INSERT … VALUES (…),(…) ON CONFLICT DO UPDATE` with
 * the values written into the SQL as literals, `statementsPerBatch` statements a `batch()`, no RETURNING.
 * D1 binds at most 100 parameters a statement, so a bound upsert carries 16 rows of a six-column table;
 * literals carry as many as the 100 KB statement limit allows. The volume floor and the one-request job
 * write with it; the benchmark sweeps both sizes.
 */
export type Literal = string | number | null;

/** Plain SQLite quoting, for the benchmark's own synthetic values: numbers, NULL, text with quotes doubled. */
export function literal(value: Literal): string {
  if (value === null) return "NULL";
  if (typeof value === "number") return String(value);
  return `'${value.replaceAll("'", "''")}'`;
}

export interface PlainTable {
  table: string;
  columns: readonly string[];
  key: readonly string[];
}

export class LiteralUpsert {
  private readonly head: string;
  private readonly tail: string;
  private rows: string[] = [];
  private batch: D1PreparedStatement[] = [];
  written = 0;

  constructor(
    private readonly db: D1Database,
    { table, columns, key }: PlainTable,
    private readonly rowsPerStatement: number,
    private readonly statementsPerBatch: number,
  ) {
    this.head = `INSERT INTO ${table} (${columns.join(", ")}) VALUES `;
    this.tail = ` ON CONFLICT (${key.join(", ")}) DO UPDATE SET ${columns.filter((name) => !key.includes(name)).map((name) => `${name} = excluded.${name}`).join(", ")}`;
  }

  async add(values: readonly Literal[]): Promise<void> {
    this.rows.push(`(${values.map(literal).join(",")})`);
    if (this.rows.length === this.rowsPerStatement) await this.statement();
  }

  /** Sends what is left; afterwards every added row is written. */
  async finish(): Promise<number> {
    if (this.rows.length > 0) this.batch.push(this.prepared());
    if (this.batch.length > 0) await this.send();
    return this.written;
  }

  private prepared(): D1PreparedStatement {
    const statement = this.db.prepare(this.head + this.rows.join(",") + this.tail);
    this.written += this.rows.length;
    this.rows = [];
    return statement;
  }

  private async statement(): Promise<void> {
    this.batch.push(this.prepared());
    if (this.batch.length === this.statementsPerBatch) await this.send();
  }

  private async send(): Promise<void> {
    const batch = this.batch;
    this.batch = [];
    await this.db.batch(batch);
  }
}

/** A plain copy of a table for a floor: its own columns, NOT NULL where they are, its key; emptied. */
export async function createPlainTable(db: D1Database, table: PlainTable & { types: readonly string[]; nullable: readonly boolean[] }): Promise<void> {
  await db.prepare(`DROP TABLE IF EXISTS ${table.table}`).run();
  const columns = table.columns.map((name, index) => `${name} ${table.types[index]!.toUpperCase()}${table.nullable[index] ? "" : " NOT NULL"}`);
  await db.prepare(`CREATE TABLE ${table.table} (${columns.join(", ")}, PRIMARY KEY (${table.key.join(", ")}))`).run();
}
