// The one API client of the dashboard: openapi-fetch typed by the schema generated from
// ../openapi/openapi.json, so every call here is a call an integration can make too.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "../../generated/schema";

export type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];

let csrfToken = "";

/** Remember the session's CSRF token; every change echoes it in X-CSRF-Token. */
export function setCsrfToken(token: string) {
  csrfToken = token;
}

let onSignedOut: () => void = () => {};
/** Called when the server says the session is gone (401), so the app shows the sign-in form. */
export function whenSignedOut(handler: () => void) {
  onSignedOut = handler;
}

const session: Middleware = {
  onRequest({ request }) {
    if (request.method !== "GET" && request.method !== "HEAD" && csrfToken) {
      request.headers.set("X-CSRF-Token", csrfToken);
    }
    return request;
  },
  onResponse({ request, response }) {
    if (response.status === 401 && !request.url.endsWith("/v1/admin/session")) {
      onSignedOut();
    }
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: "", credentials: "same-origin" });
api.use(session);

/** A human sentence for a failed call: the problem's detail, or what went wrong on the way. */
export function describeError(error: unknown): string {
  if (error && typeof error === "object") {
    const p = error as Partial<Problem>;
    if (typeof p.detail === "string") {
      return p.detail;
    }
  }
  if (error instanceof Error) {
    return error.message;
  }
  return "the request failed";
}

/** Unwrap an openapi-fetch result: the data, or throw the problem as an Error. */
export async function must<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let result;
  try {
    result = await call;
  } catch (e) {
    throw new Error(`the server could not be reached (${describeError(e)})`);
  }
  if (result.error !== undefined || !result.response.ok) {
    throw new ApiFailure(describeError(result.error), result.response.status, result.error);
  }
  return result.data as T;
}

export class ApiFailure extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly problem: unknown,
  ) {
    super(message);
  }
  get code(): string | undefined {
    return (this.problem as Partial<Problem> | undefined)?.code;
  }
}
