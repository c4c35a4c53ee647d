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

/** A run would disable or delete more than the configured threshold; nothing was applied. */
export class MassChangeError extends TenureError {
  readonly counts: Record<string, { disable: number; delete: number; total: number }>;
  constructor(message: string, counts: MassChangeError["counts"]) {
    super("mass_change", message, { exitCode: 3, httpStatus: 409 });
    this.counts = counts;
  }
}
