import { TenureError } from "../../shared/errors.js";

/** No credentials, or credentials that do not authenticate (unknown, expired or revoked token): 401. */
export class UnauthenticatedError extends TenureError {
  constructor(message: string) {
    super("unauthenticated", message, { exitCode: 1, httpStatus: 401 });
  }
}

/** No credentials at all: 401 like any other, but not a failed attempt (nothing was guessed). */
export class NoCredentialsError extends UnauthenticatedError {}

/** Authenticated, but the token's role does not hold the permission the route needs: 403. */
export class ForbiddenError extends TenureError {
  constructor(message: string) {
    super("forbidden", message, { exitCode: 1, httpStatus: 403 });
  }
}

/** Too many failed authentications from one address: 429, with when to try again. */
export class TooManyFailuresError extends TenureError {
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number) {
    super(
      "too_many_failures",
      `too many failed authentication attempts from this address; try again in ${retryAfterSeconds} s`,
      { exitCode: 1, httpStatus: 429 },
    );
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
