import type { Duplex } from "node:stream";
import pg from "pg";
import { CloudflareSocket } from "pg-cloudflare";
import { StageFailure } from "../../domain/failures";
import { postgresFailure } from "./errors";
import { RESULT_TYPES } from "./values";

/**
 * Connections to PostgreSQL through a Hyperdrive binding, the way Cloudflare documents them for Workers:
 * node-postgres (`pg`) under `nodejs_compat`, one client per read or per chunk written, closed after.
 * Hyperdrive keeps the pool to the database, so opening a client is cheap; holding one across requests or
 * agents would outlive the request that opened it. Used by the source and the destination kind alike.
 */

/**
 * The database name of the binding `npm run dev` gets when no PostgreSQL is configured (wrangler.jsonc's
 * `localConnectionString`): pipelines on it show as misconfigured instead of failing on every run.
 */
export const UNCONFIGURED_DATABASE = "not-configured";

/** The part of a Hyperdrive binding a client needs. */
export interface HyperdriveBinding {
  connectionString: string;
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

/** How a pipeline file names the binding (wrangler.jsonc `hyperdrive[].binding`). */
export const BINDING_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** What keeps a binding from being used: absent, not a Hyperdrive binding, or the unconfigured placeholder; null when usable. */
export function hyperdriveProblem(env: Readonly<Record<string, unknown>>, binding: string): string | null {
  const found = env[binding] as Partial<HyperdriveBinding> | undefined;
  if (found === undefined || found === null || typeof found !== "object" || typeof found.connectionString !== "string") {
    return `hyperdrive ${binding} is not a Hyperdrive binding of this Worker (add it to "hyperdrive" in wrangler.jsonc: docs/postgres.md)`;
  }
  if (found.database === UNCONFIGURED_DATABASE) {
    return `hyperdrive ${binding} has no PostgreSQL database configured (npm run dev: set CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_${binding} to a connection string, docs/postgres.md)`;
  }
  return null;
}

/** The binding, or a permanent failure saying what is wrong with it. */
export function hyperdriveOf(env: Readonly<Record<string, unknown>>, binding: string): HyperdriveBinding {
  const problem = hyperdriveProblem(env, binding);
  if (problem) throw new StageFailure(problem, "permanent");
  return env[binding] as HyperdriveBinding;
}

/** The binding's secrets as they may show up in a message: its password (also URL-encoded) and its connection string. */
export function bindingSecrets(env: Readonly<Record<string, unknown>>, binding: string): string[] {
  const found = env[binding] as Partial<HyperdriveBinding> | undefined;
  return found && typeof found === "object" ? secretsOf(found) : [];
}

function secretsOf(binding: Partial<HyperdriveBinding>): string[] {
  const secrets = [binding.connectionString, binding.password, binding.password ? encodeURIComponent(binding.password) : undefined];
  return secrets.filter((secret): secret is string => typeof secret === "string" && secret.length >= 3);
}

export interface ClientOptions {
  /** Shown in pg_stat_activity: which part of which run holds the connection. */
  applicationName: string;
  /** For connecting, and for each statement (the server's statement_timeout and the client's read). */
  timeoutMs: number;
  /** What the failure messages say was being done ("reading source primary", "writing public.orders"). */
  doing: string;
  /**
   * How long a connection refused for a reason that passes (the database restarting or failing over, too
   * many connections) is tried again before the failure goes to the stage: the stage's own retries are a
   * few seconds apart, shorter than a restart.
   */
  connectWaitMs: number;
  /** A cancel or a stage timeout ends the wait. */
  signal?: AbortSignal;
}

/** The default `connectWaitMs`: a restart, or the first part of a managed database's failover. */
export const CONNECT_WAIT_MS = 20_000;
const FIRST_RECONNECT_MS = 100;
const LONGEST_RECONNECT_MS = 2_000;

export interface PostgresClient {
  query<R extends Record<string, unknown> = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<{ rows: R[]; rowCount: number }>;
  /** Runs `work` in one transaction: committed when it returns, rolled back when it throws. */
  transaction<T>(mode: TransactionMode, work: () => Promise<T>): Promise<T>;
  /** Opens a transaction for work that cannot sit in a callback (a generator); `commit`, or `close` rolls it back. */
  begin(mode: TransactionMode): Promise<void>;
  commit(): Promise<void>;
  /** Ends the connection; a transaction still open is rolled back by the server. Never throws. */
  close(): Promise<void>;
}

export type TransactionMode = "read only" | "read write";

/**
 * Opens a client on the binding. Every error from it is a StageFailure, classified (a lost connection is
 * worth another try, a missing table is not) and with the binding's secrets taken out.
 */
export async function openClient(hyperdrive: HyperdriveBinding, options: ClientOptions): Promise<PostgresClient> {
  const secrets = secretsOf(hyperdrive);
  // A stop (a cancel, a stage timeout) stays what it is: the stage tells it from a failure.
  const failure = (error: unknown, doing = options.doing) => (error instanceof StageFailure || (error as Error)?.name === "AbortError" ? error : postgresFailure(error, doing, secrets));
  const client = await connected(hyperdrive, options, failure);
  // The connection's own error (the server's FATAL, with its SQLSTATE) says more than the driver's "not
  // queryable" that the next query gets.
  let lost: unknown = null;
  client.on("error", (error: unknown) => void (lost ??= error));
  const query = async <R extends Record<string, unknown>>(text: string, values: readonly unknown[] = []) => {
    try {
      const result = await client.query<R>(text, values as unknown[]);
      return { rows: result.rows, rowCount: result.rowCount ?? 0 };
    } catch (error) {
      throw failure(lost !== null && /not queryable/i.test(String((error as Error)?.message)) ? lost : error);
    }
  };
  const begin = async (mode: TransactionMode) => {
    // Repeatable read: a read sees one snapshot across all its pages, however long it takes. SET LOCAL:
    // Hyperdrive pools connections per transaction, so session settings would not stay. One round trip.
    // The server ends a session left idle inside its transaction (a client that went away without
    // closing): its snapshot and its locks are not held for longer than that.
    const start = mode === "read only" ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN";
    const statementMs = Math.max(1, Math.trunc(options.timeoutMs));
    await query(`${start}; SET LOCAL statement_timeout = ${statementMs}; SET LOCAL idle_in_transaction_session_timeout = ${Math.max(60_000, 2 * statementMs)}; SET LOCAL TIME ZONE 'UTC'`);
  };
  const commit = async () => void (await query("COMMIT"));
  return {
    query,
    begin,
    commit,
    async transaction<T>(mode: TransactionMode, work: () => Promise<T>): Promise<T> {
      await begin(mode);
      try {
        const result = await work();
        await commit();
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw failure(error);
      }
    },
    close: () => client.end().catch(() => undefined),
  };
}

/**
 * A connected client: tried again, with growing pauses, while the database refuses for a reason that
 * passes, for up to `connectWaitMs`.
 */
async function connected(hyperdrive: HyperdriveBinding, options: ClientOptions, failure: (error: unknown, doing?: string) => unknown): Promise<pg.Client> {
  const startedAt = Date.now();
  const giveUpAt = startedAt + options.connectWaitMs;
  for (let pause = FIRST_RECONNECT_MS; ; pause = Math.min(pause * 2, LONGEST_RECONNECT_MS)) {
    options.signal?.throwIfAborted();
    const client = new pg.Client({
      connectionString: hyperdrive.connectionString,
      stream: ((config: { ssl?: unknown }) => new (closingSocket())(Boolean(config.ssl))) as unknown as () => Duplex,
      connectionTimeoutMillis: options.timeoutMs,
      query_timeout: options.timeoutMs + 1_000,
      application_name: options.applicationName.slice(0, 63),
      types: RESULT_TYPES,
    });
    // Until the session's own listener is on: an error while connecting rejects connect() as well.
    client.on("error", () => undefined);
    try {
      await client.connect();
      return client;
    } catch (error) {
      await client.end().catch(() => undefined);
      const failed = failure(error, `connecting to database "${hyperdrive.database}" for ${options.doing}`);
      if (!(failed instanceof StageFailure) || failed.kind !== "transient") throw failed;
      if (Date.now() + pause > giveUpAt) {
        const waited = Math.round((Date.now() - startedAt) / 100) / 10;
        throw waited < 1 ? failed : new StageFailure(`${failed.message} (refused for ${waited} s of connectWaitMs ${options.connectWaitMs})`, "transient");
      }
      await sleep(pause, options.signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener("abort", stop);
      resolve();
    }
    function stop() {
      clearTimeout(timer);
      reject(signal!.reason);
    }
    signal?.addEventListener("abort", stop, { once: true });
  });
}

/** Opens a client, runs `work`, and closes the client whatever happens. */
export async function withClient<T>(hyperdrive: HyperdriveBinding, options: ClientOptions, work: (client: PostgresClient) => Promise<T>): Promise<T> {
  const client = await openClient(hyperdrive, options);
  try {
    return await work(client);
  } finally {
    await client.close();
  }
}

/**
 * pg-cloudflare's socket, closed quietly. Once a client ends, the socket's reader is cancelled and its
 * read loop rejects ("This socket has been closed"); the original turns that into an "error" event no
 * one listens to any more, an unhandled rejection in workerd. A read that fails while the client is
 * still using the socket is still an error. Made on first use: outside workerd (Node, where the
 * definitions are also loaded) pg-cloudflare exports nothing to extend.
 */
let ClosingSocket: (new (ssl: boolean) => CloudflareSocket) | null = null;

function closingSocket(): new (ssl: boolean) => CloudflareSocket {
  ClosingSocket ??= class extends CloudflareSocket {
    private ending = false;

    override end(...args: Parameters<CloudflareSocket["end"]>): this {
      this.ending = true;
      return super.end(...args);
    }

    override async _listen(): Promise<void> {
      try {
        await super._listen();
      } catch (error) {
        if (this.ending || (this as unknown as { _cfSocket: unknown })._cfSocket === null) return;
        this.emit("error", error);
      }
    }
  };
  return ClosingSocket;
}
