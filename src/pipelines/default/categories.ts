export type Category = "low" | "medium" | "high";

/** A value below `medium` is low, below `high` is medium, anything else high. */
export interface CategoryThresholds {
  medium: number;
  high: number;
}

/** The seed example's rules: < 100 low, < 200 medium, otherwise high. */
export const DEFAULT_THRESHOLDS: CategoryThresholds = { medium: 100, high: 200 };

export function categorize(value: number, thresholds: CategoryThresholds = DEFAULT_THRESHOLDS): Category {
  if (value < thresholds.medium) return "low";
  if (value < thresholds.high) return "medium";
  return "high";
}
