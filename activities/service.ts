import { ApplicationFailure, Context } from '@temporalio/activity';
import type { CallServiceInput, CallServiceResult } from './types';

/** Where service steps may call, and the secrets their headers may carry (from lib/config.ts). */
export interface ServiceSettings {
  /** Address prefixes a URL must start with, e.g. `https://erp.example.com/api/`. Empty: no calls. */
  allowlist: string[];
  /** Secret name -> value, for `secretHeaders`. */
  secrets: Record<string, string>;
  /** Per-attempt time limit in ms. */
  timeoutMs: number;
}

/**
 * Whether a URL is on the allowlist. Compared on the parsed URL (scheme, host, port and path prefix), so
 * `https://erp.example.com.evil.test/` or userinfo tricks do not match `https://erp.example.com/`.
 */
export function allowed(url: string, allowlist: string[]): boolean {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return false;
  }
  if (target.username || target.password) return false;
  return allowlist.some((entry) => {
    let base: URL;
    try {
      base = new URL(entry);
    } catch {
      return false;
    }
    const path = base.pathname.endsWith('/') ? base.pathname : `${base.pathname}/`;
    return (
      target.protocol === base.protocol &&
      target.host === base.host &&
      (target.pathname === base.pathname || target.pathname.startsWith(path) || base.pathname === '/')
    );
  });
}

/**
 * A service step's HTTP call. 2xx: the JSON (or text) response. 5xx, 429 and network errors throw a
 * retryable failure (the workflow's retry policy backs off); a refusal (address not allowed, secret missing,
 * 4xx) is a non-retryable failure of type ServiceRefusedError,
 * which is not retried. The idempotency key is the same on every attempt of one step call.
 */
export async function callService(
  settings: ServiceSettings,
  input: CallServiceInput,
): Promise<CallServiceResult> {
  if (!allowed(input.url, settings.allowlist)) {
    throw ApplicationFailure.nonRetryable(
      `${input.url} is not on the service allowlist (SERVICE_ALLOWLIST)`,
      'ServiceRefusedError',
    );
  }
  const headers: Record<string, string> = {
    accept: 'application/json',
    'idempotency-key': input.idempotencyKey,
  };
  for (const [header, secret] of Object.entries(input.secretHeaders)) {
    const value = settings.secrets[secret];
    if (value === undefined) {
      throw ApplicationFailure.nonRetryable(
        `Secret "${secret}" is not configured (SERVICE_SECRET_${secret.toUpperCase().replace(/-/g, '_')})`,
        'ServiceRefusedError',
      );
    }
    headers[header] = value;
  }
  if (input.body !== undefined) headers['content-type'] = 'application/json';
  const signal = AbortSignal.any([
    AbortSignal.timeout(settings.timeoutMs),
    Context.current().cancellationSignal,
  ]);
  let res: Response;
  try {
    res = await fetch(input.url, {
      method: input.method,
      headers,
      redirect: 'error',
      signal,
      ...(input.body !== undefined ? { body: JSON.stringify(input.body) } : {}),
    });
  } catch (err) {
    throw ApplicationFailure.retryable(
      `${input.method} ${input.url} failed: ${String(err)}`,
      'ServiceUnavailable',
    );
  }
  const text = await res.text();
  if (res.status >= 500 || res.status === 429) {
    throw ApplicationFailure.retryable(
      `${input.method} ${input.url} answered ${res.status}`,
      'ServiceUnavailable',
    );
  }
  if (!res.ok) {
    throw ApplicationFailure.nonRetryable(
      `${input.method} ${input.url} answered ${res.status}`,
      'ServiceRefusedError',
    );
  }
  let response: unknown = text;
  try {
    response = text === '' ? null : JSON.parse(text);
  } catch {
    // Not JSON: the text itself.
  }
  return { status: res.status, response };
}
