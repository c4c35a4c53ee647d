/** An identity's lifecycle states, in the order they are lived (src/domain/identity-types.ts). */
export const LIFECYCLE_STATES = ["prehire", "active", "suspended", "terminated", "deleted"] as const;
export type LifecycleState = (typeof LIFECYCLE_STATES)[number];
