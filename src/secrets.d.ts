// Secrets are set with `wrangler secret put` and are not in wrangler.jsonc, so `wrangler types` cannot see
// them; they are declared here, optional because an unset secret is simply absent.
declare namespace Cloudflare {
  interface Env {
    /** Bearer token for /api/*. */
    API_TOKEN?: string;
  }
}
interface Env {
  API_TOKEN?: string;
}
