/** Requests as a browser makes them: the session cookie and the CSRF header, no bearer token. */

export interface BrowserAnswer {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** The Set-Cookie lines of the answer. */
  cookies: string[];
}

export interface BrowserOptions {
  /** Value of the crm_session cookie to send. */
  cookie?: string;
  /** Value of X-CSRF-Token to send. */
  csrf?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** One request to `base + url`; parses JSON answers. */
export async function browserRequest(
  base: string,
  method: string,
  url: string,
  options: BrowserOptions = {},
): Promise<BrowserAnswer> {
  const res = await fetch(base + url, {
    method,
    headers: {
      ...(options.cookie ? { cookie: `crm_session=${options.cookie}` } : {}),
      ...(options.csrf !== undefined ? { 'x-csrf-token': options.csrf } : {}),
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  return {
    status: res.status,
    headers: res.headers,
    body: type.includes('json') && text ? JSON.parse(text) : text,
    cookies: res.headers.getSetCookie(),
  };
}

/** The value of crm_session in a list of Set-Cookie lines. */
export function sessionCookie(cookies: string[]): string {
  const line = cookies.find((c) => c.startsWith('crm_session='));
  if (!line) throw new Error(`no crm_session cookie in ${JSON.stringify(cookies)}`);
  return (line.split(';')[0] as string).slice('crm_session='.length);
}
