/**
 * Every shipped pipeline that loads into D1 declares the table migrations/ makes: its columns, types,
 * nullability and key, read from the migrated D1 database and compared with the definition by the
 * comparison a load makes (schema-diff.ts). A definition changed without its migration fails here,
 * listing each difference; `npm run pipeline -- migration <name>` writes the migration that fixes it.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { checkPlace } from "../../src/destinations";
import { compareShape, type DeclaredTable } from "../../src/destinations/d1/schema-diff";
import { tableShape } from "../../src/destinations/d1/writes";
import { columnSettings } from "../../src/engine/columns";
import type { Pipeline } from "../../src/engine/define-pipeline";
import { PIPELINES } from "../../src/pipelines";
import orders from "../../src/pipelines/orders/pipeline";

function d1Table(pipeline: Pipeline): DeclaredTable | null {
  const place = checkPlace(pipeline.destination);
  if (!place.ok || place.kind.type !== "d1") return null;
  return { table: (place.declared as { table: string }).table, key: pipeline.destination.key, columns: columnSettings(pipeline.destination.columns) };
}

/** Each difference between the migrated tables and these definitions, as `pipeline: difference`. */
async function differences(pipelines: readonly Pipeline[]): Promise<string[]> {
  const found: string[] = [];
  for (const pipeline of pipelines) {
    const declared = d1Table(pipeline);
    if (!declared) continue;
    for (const difference of compareShape(declared, await tableShape(env.DB, declared.table))) {
      found.push(`${pipeline.name}: ${difference.text} (npm run pipeline -- migration ${pipeline.name} writes the fix)`);
    }
  }
  return found;
}

describe("the migrated D1 schema", () => {
  it("has every D1 destination's table as its pipeline declares it", async () => {
    expect(PIPELINES.filter((pipeline) => d1Table(pipeline) !== null).map((pipeline) => pipeline.name)).toEqual(["default", "orders", "orders-daily", "store-drops", "customers"]);
    expect(await differences(PIPELINES)).toEqual([]);
  });

  it("disagrees, naming each difference, with a definition changed without its migration", async () => {
    const changed = {
      ...orders,
      destination: {
        ...orders.destination,
        key: ["order_id"],
        columns: { ...orders.destination.columns, amount_cents: "real", channel: { type: "text", nullable: true } },
      },
    } as unknown as Pipeline;
    expect(await differences([changed])).toEqual([
      "orders: column amount_cents is INTEGER in the table, real (REAL) in the definition (npm run pipeline -- migration orders writes the fix)",
      "orders: column channel is missing (text) (npm run pipeline -- migration orders writes the fix)",
      "orders: the table's primary key is (store_id, order_id), the definition's key is (order_id) (npm run pipeline -- migration orders writes the fix)",
    ]);
  });
});
