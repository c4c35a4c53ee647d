/**
 * Typed errors with a code, an exit code for the CLI and an HTTP status for the API.
 * One place maps them to output; nothing else inspects messages.
 */
export class TenureError extends Error {
  readonly code: string;
  readonly exitCode: number;
  readonly httpStatus: number;

  constructor(
    code: string,
    message: string,
    options: { exitCode?: number; httpStatus?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = options.exitCode ?? 1;
    this.httpStatus = options.httpStatus ?? 400;
  }
}

/** Input that cannot be accepted: a config file, an HR file, a CLI argument. Nothing was changed. */
export class InvalidInputError extends TenureError {
  readonly details: readonly string[];
  constructor(message: string, details: readonly string[] = []) {
    super("invalid_input", message, { exitCode: 1, httpStatus: 422 });
    this.details = details;
  }
}

export class UsageError extends TenureError {
  constructor(message: string) {
    super("usage", message, { exitCode: 2, httpStatus: 400 });
  }
}

export class NotFoundError extends TenureError {
  constructor(message: string) {
    super("not_found", message, { exitCode: 1, httpStatus: 404 });
  }
}

/**
 * A run would terminate people, or disable or delete accounts, past lifecycle.massChangeThreshold; nothing
 * was written but the stop's one `mass-change.stopped` audit event. `planHash` names the plan that was
 * stopped: confirming with it applies exactly that plan.
 */
export class MassChangeError extends TenureError {
  /** Keyed `source:NAME` (people it would terminate, as `disable`) or `system:NAME` (accounts). */
  readonly counts: Record<string, { disable: number; delete: number; total: number }>;
  readonly planHash: string;
  constructor(message: string, counts: MassChangeError["counts"], planHash: string) {
    super("mass_change", message, { exitCode: 3, httpStatus: 409 });
    this.counts = counts;
    this.planHash = planHash;
  }
}

/**
 * A mass change was confirmed with a plan hash that is not the plan computed now (the HR data, the
 * policy or the systems moved since it was shown): nothing was written. `planHash` is the new plan's.
 */
export class PlanChangedError extends TenureError {
  readonly planHash: string;
  readonly confirmed: string;
  constructor(message: string, confirmed: string, planHash: string) {
    super("plan_changed", message, { exitCode: 1, httpStatus: 409 });
    this.confirmed = confirmed;
    this.planHash = planHash;
  }
}
