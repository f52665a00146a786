import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Request, RequestHandler } from 'express';
import { escapePointer, pointerTo } from '../lib/json-pointer';
import { PROBLEM_BASE, ProblemError, type FieldError } from './problem';
import { check } from './validation';

/** Deeper JSON is refused: serializers recurse, and a stack overflow must not become a 500. */
export const MAX_JSON_DEPTH = 64;

/** An unpaired UTF-16 surrogate: JSON.stringify keeps it as a \\ud800 escape, which jsonb refuses. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why Postgres could not store this text, or undefined. */
function textProblem(text: string): string | undefined {
  if (text.includes('\u0000')) return 'must not contain NUL characters';
  if (LONE_SURROGATE.test(text)) return 'must not contain unpaired UTF-16 surrogates';
  return undefined;
}

/**
 * Finds the first place in a parsed JSON value with text Postgres cannot store (a NUL character or an
 * unpaired surrogate: the workflow would accept it, then fail its projection forever and leave the case
 * stuck), a number JSON.parse turned into Infinity (`1e400`: it would be stored as null) or nested deeper than
 * MAX_JSON_DEPTH. Iterative, so no input can overflow the stack.
 */
export function findUnsafeJson(value: unknown, root: string): FieldError | undefined {
  const stack: { value: unknown; pointer: string; depth: number }[] = [{ value, pointer: root, depth: 0 }];
  while (stack.length > 0) {
    const item = stack.pop() as (typeof stack)[number];
    if (typeof item.value === 'string') {
      const problem = textProblem(item.value);
      if (problem) return { pointer: item.pointer, message: problem };
      continue;
    }
    if (typeof item.value === 'number' && !Number.isFinite(item.value))
      return {
        pointer: item.pointer,
        message: 'is a number too large to store (beyond ±1.7976931348623157e308); send a smaller number',
      };
    if (item.value === null || typeof item.value !== 'object') continue;
    if (item.depth >= MAX_JSON_DEPTH)
      return { pointer: item.pointer, message: `nests deeper than ${MAX_JSON_DEPTH} levels` };
    for (const [key, child] of Object.entries(item.value)) {
      const escaped = escapePointer(key);
      const problem = textProblem(key);
      if (problem) return { pointer: `${item.pointer}/${escaped}`, message: `(property name) ${problem}` };
      stack.push({ value: child, pointer: `${item.pointer}/${escaped}`, depth: item.depth + 1 });
    }
  }
  return undefined;
}

/** Refuses text Postgres cannot store in the path, query and body, and over-deep bodies: 400 with a pointer. */
export const requestGuards: RequestHandler = (req, _res, next) => {
  const path = req.originalUrl.split('?')[0] ?? '';
  if (/%00/i.test(path) || path.includes('\u0000')) {
    return next(
      ProblemError.badRequest('The path contains a NUL character', [
        { pointer: '/path', message: 'must not contain NUL' },
      ]),
    );
  }
  const problem = findUnsafeJson({ ...req.query }, '/query') ?? findUnsafeJson(req.body, '/body');
  if (problem) return next(ProblemError.badRequest('The request has an unsafe value', [problem]));
  next();
};

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};

/**
 * Requests Node's HTTP parser refuses (headers over its limit, malformed request lines) never reach
 * Express; answer them with problem+json too instead of Node's bare status line.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (socket.destroyed || !socket.writable) return;
    const status =
      err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const slug = status === 431 ? 'headers-too-large' : 'bad-request';
    const body = JSON.stringify({
      type: PROBLEM_BASE + slug,
      title: STATUS_TEXT[status],
      status,
      detail:
        status === 431
          ? 'The request headers are larger than the server accepts'
          : 'The HTTP request is malformed',
    });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nContent-Type: application/problem+json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}

/** Schema of an operation that takes no query parameters. */
export const noQuerySchema = { type: 'object', additionalProperties: false } as const;

/** Answers 400 with a pointer `/query/<name>` for every query parameter of an operation that takes none. */
export function noQuery(req: Request): void {
  check(noQuerySchema, { ...req.query }, '/query');
}

/**
 * Answers 400 with a pointer `/query/<name>` for every query parameter the operation's query schema does not
 * declare (a misspelt filter must not silently widen a report).
 */
export function knownQuery(req: Request, schema: { properties: Record<string, unknown> }): void {
  const unknown = Object.keys(req.query).filter((name) => !Object.hasOwn(schema.properties, name));
  if (unknown.length > 0)
    throw ProblemError.badRequest(
      `Unknown query parameter(s): ${unknown.join(', ')}`,
      unknown.map((name) => ({
        pointer: pointerTo('/query', name),
        message: `is not a parameter of this operation (known: ${Object.keys(schema.properties).join(', ')})`,
      })),
    );
}
