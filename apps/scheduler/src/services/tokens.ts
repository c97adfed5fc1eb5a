/** Injection tokens of the scheduler. */
export const PLANNER = Symbol('PLANNER');
export const ALLOCATION_RATIOS = Symbol('ALLOCATION_RATIOS');
export const SCHEDULER_CONFIG = Symbol('SCHEDULER_CONFIG');
export const DECISION_STATS = Symbol('DECISION_STATS');
