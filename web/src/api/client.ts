import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './schema';

/** An RFC 9457 problem as the API answers it. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: { pointer: string; message: string }[];
  retryAfter?: number;
  [extension: string]: unknown;
}

/** A failed call: the problem the API answered, or a network failure (status 0). */
export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title);
  }
  get status(): number {
    return this.problem.status;
  }
  /** The problem type's last segment, e.g. `invalid-credentials`. */
  get slug(): string {
    return this.problem.type.split('/').pop() ?? '';
  }
}

let csrfToken: string | null = null;
let onUnauthorized: () => void = () => {};

/** The session's CSRF token, sent on every state-changing call. */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Called when a call answers 401 (the session ended). */
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

const csrf: Middleware = {
  onRequest({ request }) {
    if (request.method !== 'GET' && request.method !== 'HEAD' && csrfToken !== null) {
      request.headers.set('X-CSRF-Token', csrfToken);
    }
    return request;
  },
  onResponse({ response, request }) {
    if (response.status === 401 && !new URL(request.url).pathname.startsWith('/api/session'))
      onUnauthorized();
    return response;
  },
};

/** The one typed client of the app: every call to the API goes through it. */
export const api = createClient<paths>({ baseUrl: '', credentials: 'same-origin' });
api.use(csrf);

/**
 * Unwraps an openapi-fetch result: its data, or an ApiError carrying the problem. A network failure
 * becomes a problem of status 0 so screens show one kind of error.
 */
export async function call<T>(
  promise: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await promise;
  } catch {
    throw new ApiError({ type: 'about:blank#network', title: 'Network error', status: 0 });
  }
  if (result.response.ok) return result.data as T;
  const error = result.error as Partial<Problem> | undefined;
  throw new ApiError({
    ...error,
    type: error?.type ?? 'about:blank',
    title: error?.title ?? result.response.statusText,
    status: result.response.status,
  } as Problem);
}

/** The messages of a problem's errors whose pointer ends at `field` (`/body/data/needs` -> needs). */
export function fieldErrors(problem: Problem | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of problem?.errors ?? []) {
    const field = e.pointer.split('/').filter(Boolean).pop();
    if (field !== undefined && out[field] === undefined) out[field] = e.message;
  }
  return out;
}
