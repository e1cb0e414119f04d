import type { D1Migration } from "cloudflare:test";

// Test-only binding from vitest.config.ts. Declared on both Env and Cloudflare.Env so stubs keep their types.
declare global {
  interface Env {
    TEST_MIGRATIONS: D1Migration[];
  }
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
    }
  }
}
