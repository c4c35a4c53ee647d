import type { LifecycleConfig } from "../policy/config-types.js";

/**
 * Whether `count` removals out of a population of `population` exceed the threshold:
 * both more than the minimum count and more than the percentage. A small organisation's
 * two leavers never trip it; a truncated HR file does.
 */
export function exceedsMassChangeThreshold(
  count: number,
  population: number,
  threshold: LifecycleConfig["massChangeThreshold"],
): boolean {
  if (count <= threshold.minimum) return false;
  return count > (population * threshold.percent) / 100;
}
