import { Hono } from "hono";
import { requireToken } from "./http/auth";
import { handleError } from "./http/errors";
import { notFoundOrMethodNotAllowed } from "./http/not-found";
import { apiSecurityHeaders, crossSiteGuard } from "./http/security";
import { serviceRoutes } from "./routes/openapi";
import { pipelineRoutes } from "./routes/pipelines";
import { runLookupRoutes } from "./routes/run-lookup";
import { notificationRoutes } from "./routes/notifications";

/**
 * The Worker's HTTP side: security headers on everything, a bearer token on /api/* (but health), the
 * cross-site guard for open mode, the pipelines API, the OpenAPI document, and one error shape.
 */
export function createApp() {
  // strict: false serves "/api/pipeline/last/" like "/api/pipeline/last".
  const app = new Hono<{ Bindings: Env; Variables: { tokenLabel: string | null } }>({ strict: false });
  app.use("*", apiSecurityHeaders());
  const authenticate = requireToken();
  app.use("/api/*", (c, next) => (c.req.path === "/api/health" ? next() : authenticate(c, next)));
  app.use("/api/*", crossSiteGuard());
  app.route("/", serviceRoutes.app);
  app.route("/", pipelineRoutes);
  app.route("/", runLookupRoutes.app);
  app.route("/", notificationRoutes.app);
  app.notFound(notFoundOrMethodNotAllowed(app));
  app.onError(handleError);
  return app;
}
