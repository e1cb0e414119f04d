/**
 * Money as integer cents, never as a float: "19.99" is 1999 exactly. An amount has at most two decimals
 * and no sign, thousands separator or exponent; anything else is refused.
 */
export const AMOUNT = /^(\d{1,12})(?:\.(\d{1,2}))?$/;

export function toCents(amount: string): number | null {
  const match = AMOUNT.exec(amount);
  if (!match) return null;
  return Number(match[1]) * 100 + Number((match[2] ?? "").padEnd(2, "0"));
}

/** The currencies the stores sell in: a value outside them is a feed gone wrong (the orders checks block it). */
export const KNOWN_CURRENCIES = ["EUR", "CHF", "GBP", "PLN", "DKK", "SEK", "CZK", "USD"] as const;
