import http from 'node:http';
import type { Express } from 'express';
import { answerClientErrors } from './request-guards';

/**
 * A class extending `Base` whose prototype carries every property of `proto`'s chain down to
 * `Base.prototype` (Express's request or response methods and getters, and its `app`).
 */
function withProperties<T extends abstract new (...args: never[]) => object>(Base: T, proto: object): T {
  const Sub = class extends (Base as unknown as new (...args: unknown[]) => object) {};
  const own = new Set<PropertyKey>(Reflect.ownKeys(Sub.prototype));
  for (
    let o: object | null = proto;
    o && o !== Base.prototype;
    o = Object.getPrototypeOf(o) as object | null
  ) {
    for (const key of Reflect.ownKeys(o)) {
      if (own.has(key)) continue;
      own.add(key);
      Object.defineProperty(
        Sub.prototype,
        key,
        Object.getOwnPropertyDescriptor(o, key) as PropertyDescriptor,
      );
    }
  }
  return Sub as unknown as T;
}

/**
 * The HTTP server of an API app. Express gives every request and response its own prototype
 * (`Object.setPrototypeOf(req, app.request)` in `app.handle`). V8 then keeps each request's objects alive
 * through young-generation collections: about 1-4 MB promoted per scavenge, pauses of 2-8 ms and regular
 * full collections, which made most of the inbox's latency tail (docs/benchmarks.md). Here Node creates
 * requests and responses as instances of classes that already carry Express's methods, and those
 * classes' prototypes become the app's `request` and `response`, so the prototype Express sets is the one
 * each object already has and nothing changes. Call once per app, before it serves.
 */
export function createServer(app: Express): http.Server {
  const IncomingMessage = withProperties(http.IncomingMessage, app.request);
  const ServerResponse = withProperties(http.ServerResponse, app.response);
  app.request = IncomingMessage.prototype as Express['request'];
  app.response = ServerResponse.prototype as Express['response'];
  const server = http.createServer({ IncomingMessage, ServerResponse }, app);
  answerClientErrors(server);
  trackResponses(server);
  return server;
}

interface Responses {
  open: Set<http.ServerResponse>;
  closing: boolean;
}

const responsesOf = new WeakMap<http.Server, Responses>();

function trackResponses(server: http.Server): void {
  const state: Responses = { open: new Set(), closing: false };
  responsesOf.set(server, state);
  server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    state.open.add(res);
    // While closing, a keep-alive connection still carries requests: answer them, then hang up.
    if (state.closing) res.setHeader('Connection', 'close');
    res.once('close', () => {
      state.open.delete(res);
      if (state.closing) server.closeIdleConnections();
    });
  });
}

/**
 * Stops accepting connections and resolves once every request in flight got its answer. Event streams
 * (the inbox's Server-Sent Events never end on their own) are ended at once: their clients reconnect,
 * to another replica. Connections still open after `graceMs` are cut.
 */
export function closeServer(server: http.Server, graceMs: number): Promise<void> {
  const state = responsesOf.get(server);
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
    if (!state) return;
    state.closing = true;
    for (const res of state.open) {
      if (String(res.getHeader('content-type') ?? '').startsWith('text/event-stream')) res.end();
    }
  });
}

/** Creates the app's server (`createServer`) and resolves once it listens on `host` (no default: HOST decides). */
export function listen(app: Express, port: number, host: string): Promise<http.Server> {
  const server = createServer(app);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
