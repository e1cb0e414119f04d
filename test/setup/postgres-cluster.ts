import type { TestProject } from "vitest/node";
import { startCluster, type ClusterPlan } from "../../scripts/lib/postgres-cluster.ts";

/**
 * The postgres project's throwaway cluster: planned by vitest.config.ts (its URL goes into the Worker's
 * Hyperdrive binding before the runtime starts), started here before the project's first file, stopped by
 * its PID and deleted after the last.
 */
export default async function setup(project: TestProject) {
  const plan = JSON.parse(process.env.PIPELINE_TEST_POSTGRES ?? "null") as ClusterPlan | null;
  if (!plan) throw new Error("vitest.config.ts plans the test cluster (PIPELINE_TEST_POSTGRES is not set)");
  const cluster = await startCluster(plan);
  project.provide("postgresPassword", plan.password);
  return () => cluster.stop();
}

declare module "vitest" {
  export interface ProvidedContext {
    postgresPassword: string;
  }
}
