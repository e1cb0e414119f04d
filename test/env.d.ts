import type { D1Migration } from "cloudflare:test";

// Test-only binding from vitest.config.ts. Declared on both Env and Cloudflare.Env so stubs keep their types.
declare global {
  interface Env {
    TEST_MIGRATIONS: D1Migration[];
    /** The postgres project's second binding: a database that refuses connections. */
    HYPERDRIVE_DOWN: Hyperdrive;
  }
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      HYPERDRIVE_DOWN: Hyperdrive;
    }
  }
}

