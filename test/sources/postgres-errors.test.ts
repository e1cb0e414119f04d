import { describe, expect, it } from "vitest";
import { postgresFailure, postgresKind, scrubbed } from "../../src/sources/postgres/errors";

/** A DatabaseError as node-postgres makes it: the server's message and its fields. */
const serverError = (code: string, message: string, fields: Record<string, string> = {}) => Object.assign(new Error(message), { code, severity: "ERROR", ...fields });

describe("PostgreSQL errors", () => {
  it.each([
    ["08006", "connection failure"],
    ["08001", "could not connect"],
    ["53300", "sorry, too many clients already"],
    ["40001", "could not serialize access due to concurrent update"],
    ["40P01", "deadlock detected"],
    ["57P01", "terminating connection due to administrator command"],
    ["57P03", "the database system is starting up"],
    ["57014", "canceling statement due to statement timeout"],
  ])("calls SQLSTATE %s (%s) transient", (code, message) => {
    expect(postgresKind(serverError(code, message))).toBe("transient");
  });

  it.each([
    ["42601", "syntax error at or near \"FORM\""],
    ["42P01", "relation \"orders\" does not exist"],
    ["42703", "column \"nope\" does not exist"],
    ["23505", "duplicate key value violates unique constraint \"orders_pkey\""],
    ["23502", "null value in column \"amount\" of relation \"orders\" violates not-null constraint"],
    ["22P02", "invalid input syntax for type bigint: \"x\""],
    ["28P01", "password authentication failed for user \"app\""],
    ["25006", "cannot execute INSERT in a read-only transaction"],
  ])("calls SQLSTATE %s (%s) permanent", (code, message) => {
    expect(postgresKind(serverError(code, message))).toBe("permanent");
  });

  it("reads a code as a SQLSTATE only on the server's errors (a platform EPIPE is not one)", () => {
    expect(postgresKind(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }))).toBe("transient");
    expect(postgresFailure(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }), "writing", []).message).not.toContain("SQLSTATE");
  });

  it("calls the driver's own socket errors transient", () => {
    for (const message of ["connect ECONNREFUSED 127.0.0.1:5432", "Connection terminated unexpectedly", "Client has encountered a connection error and is not queryable", "timeout exceeded when trying to connect", "Query read timeout", "read ECONNRESET"]) {
      expect(postgresKind(new Error(message))).toBe("transient");
    }
  });

  it("names the table, column and constraint the server names, with its detail and SQLSTATE", () => {
    const failure = postgresFailure(serverError("23502", 'null value in column "amount" of relation "orders" violates not-null constraint', { schema: "public", table: "orders", column: "amount", detail: "Failing row contains (a, null)." }), "writing public.orders", []);
    expect(failure.message).toBe('PostgreSQL, writing public.orders: null value in column "amount" of relation "orders" violates not-null constraint (table public.orders, column amount); Failing row contains (a, null). [SQLSTATE 23502]');
    expect(failure.kind).toBe("permanent");
  });

  it("takes every secret out, the longest first", () => {
    expect(scrubbed("postgres://app:pw-123@host/db failed (pw-123)", ["pw-123", "postgres://app:pw-123@host/db"])).toBe("*** failed (***)");
  });
});
