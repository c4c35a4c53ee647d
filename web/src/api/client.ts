import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema.js";

export type Schemas = components["schemas"];

/** The API's one error shape: `{ error: { code, message, details } }`. */
export interface ApiErrorBody {
  error: { code: string; message: string; details?: Array<{ path: string; message: string }> };
}

/** An answer that was not 2xx, with the API's message. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Array<{ path: string; message: string }>;
  constructor(status: number, body: unknown) {
    const error = (body as Partial<ApiErrorBody> | undefined)?.error;
    super(error?.message ?? `the server answered ${status}`);
    this.status = status;
    this.code = error?.code ?? "unknown";
    this.details = error?.details ?? [];
  }
}

let csrfToken = "";
let onSignedOut: () => void = () => {};

/** The session's CSRF token, sent with every request that changes something. */
export function setCsrfToken(token: string): void {
  csrfToken = token;
}

/** What to do when the server says the session has ended (401): show the sign-in page. */
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

const session: Middleware = {
  onRequest({ request }) {
    if (request.method !== "GET" && request.method !== "HEAD" && csrfToken !== "") {
      request.headers.set("x-csrf-token", csrfToken);
    }
    return request;
  },
  onResponse({ response, request }) {
    if (response.status === 401 && !request.url.endsWith("/api/session")) onSignedOut();
    return response;
  },
};

/** The typed API client: paths and bodies checked against the server's OpenAPI document. */
export const api = createClient<paths>({ baseUrl: "", credentials: "same-origin" });
api.use(session);

/** The data of an openapi-fetch answer, or the API's error thrown (for TanStack Query). */
export async function unwrap<T>(
  pending: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await pending;
  if (!response.ok || data === undefined) throw new ApiError(response.status, error);
  return data;
}
