import { Hono } from "hono";
import { requireToken } from "./http/auth";
import { handleError } from "./http/errors";
import { notFoundOrMethodNotAllowed } from "./http/not-found";
import { openApiDocument } from "./http/openapi";
import { pipelineRoutes } from "./routes/pipeline";

export function createApp() {
  const app = new Hono<{ Bindings: Env }>();
  app.get("/api/health", (c) => c.json({ status: "ok" }));
  const authenticate = requireToken();
  app.use("/api/*", (c, next) => (c.req.path === "/api/health" ? next() : authenticate(c, next)));
  app.route("/api/pipeline", pipelineRoutes);
  app.get("/api/openapi.json", (c) => c.json(openApiDocument()));
  app.notFound(notFoundOrMethodNotAllowed(app));
  app.onError(handleError);
  return app;
}
