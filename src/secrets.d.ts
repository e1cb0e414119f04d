// Secrets are set with `wrangler secret put` and are not in wrangler.jsonc, so `wrangler types` cannot see
// them; they are declared here, optional because an unset secret is simply absent.
declare namespace Cloudflare {
  interface Env {
    /** Bearer token for /api/*. */
    API_TOKEN?: string;
    /** Labelled bearer tokens, as JSON `{ "<label>": "<token>" }`: a request's label is recorded where it acts (accepted checks). */
    API_TOKENS?: string;
    /** Where failed/cancelled/recovered-run alerts are POSTed (a Slack incoming webhook, or any URL). */
    ALERT_WEBHOOK_URL?: string;
  }
}
interface Env {
  API_TOKEN?: string;
  API_TOKENS?: string;
  ALERT_WEBHOOK_URL?: string;
}
