import type { AlertEvent } from "../domain/alerts";
import type { LatenessEvent } from "../domain/slot-ledger";

/**
 * Slack's message markup (mrkdwn): an emoji per event, the pipeline in bold, links as `<url|label>`.
 * Receivers that are not Slack read the structured fields beside `text`.
 */
const EMOJI: Record<AlertEvent | LatenessEvent | "backfill_failed", string> = {
  run_failed: ":red_circle:",
  run_cancelled: ":large_orange_circle:",
  run_recovered: ":large_green_circle:",
  run_late: ":hourglass:",
  slot_missed: ":warning:",
  upstream_late: ":link:",
  backfill_failed: ":red_circle:",
  check_failed: ":no_entry:",
  check_warned: ":large_yellow_circle:",
};

export function slackHeadline(event: keyof typeof EMOJI, pipeline: string, what: string): string {
  return `${EMOJI[event]} Pipeline *${pipeline}*: ${what}`;
}

/** A link Slack renders as `label`; a relative path (no PUBLIC_BASE_URL) is shown as it is. */
export function slackLink(url: string, label: string): string {
  return /^https?:\/\//.test(url) ? ` <${url}|${label}>` : ` (${url})`;
}

/** Text from the data (a record's values, a check's figures) as Slack shows it, never as markup: `<!channel>` stays text. */
export function slackText(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}
