import type { Deployment } from "./deployment";
import { resolveSettings } from "./settings";

/** What `npm run check` says of a deployment: a line per pipeline, and whether it may ship. */
export interface DeploymentReport {
  ok: boolean;
  lines: string[];
}

/**
 * Every pipeline of the deployment, as the Worker would load it with these variables: an invalid
 * definition fails the check (with the same message the Worker logs and the API answers); one whose
 * variables do not resolve here is reported but does not fail it, since a deployment may set them (a
 * secret, a database configured only in production).
 */
export function reportDeployment(deployment: Deployment, vars: Readonly<Record<string, unknown>>): DeploymentReport {
  const lines: string[] = [];
  for (const pipeline of deployment.all()) {
    const settings = resolveSettings(pipeline, vars);
    if (!settings.ok) {
      lines.push(`! ${pipeline.name}: misconfigured with these variables: ${settings.errors.join("; ")}`);
      continue;
    }
    const { schedule, destination } = settings.settings;
    const when = schedule.cron ?? `every ${pipeline.schedule.every}`;
    lines.push(`ok ${pipeline.name}: ${when} ${schedule.timezone} → ${destination.uri}`);
  }
  for (const invalid of deployment.invalid()) for (const error of invalid.errors) lines.push(`✗ ${error}`);
  return { ok: deployment.invalid().length === 0, lines };
}
