import { Hono } from "hono";
import { requireToken } from "./http/auth";
import { handleError } from "./http/errors";
import { notFoundOrMethodNotAllowed } from "./http/not-found";
import { openApiDocument } from "./http/openapi";
import { apiSecurityHeaders, crossSiteGuard } from "./http/security";
import { pipelineRoutes } from "./routes/pipeline";

export function createApp() {
  // strict: false serves "/api/pipeline/last/" like "/api/pipeline/last".
  const app = new Hono<{ Bindings: Env }>({ strict: false });
  app.use("*", apiSecurityHeaders());
  app.get("/api/health", (c) => c.json({ status: "ok" }));
  const authenticate = requireToken();
  app.use("/api/*", (c, next) => (c.req.path === "/api/health" ? next() : authenticate(c, next)));
  app.use("/api/*", crossSiteGuard());
  app.route("/api/pipeline", pipelineRoutes);
  app.get("/api/openapi.json", (c) => c.json(openApiDocument()));
  app.notFound(notFoundOrMethodNotAllowed(app));
  app.onError(handleError);
  return app;
}
