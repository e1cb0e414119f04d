/** The levels of a log line, least severe first; `LOG_LEVEL` names the least one written. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
