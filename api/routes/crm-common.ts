/** Small request helpers shared by the CRM routes (entities, contacts, segments, campaigns, imports, reports). */
import type { Request } from 'express';
import { decodeCursor as decodeCursorValue, encodeCursor as encodeCursorValue } from '../../lib/cursor';
import { ProblemError } from '../problem';

/** `?limit=` clamped to [1, max]; 400 when not a number. */
export function pageLimit(req: Request, fallback: number, max: number): number {
  const raw = req.query.limit;
  if (raw === undefined) return Math.min(fallback, max);
  if (typeof raw !== 'string' || !/^[0-9]{1,6}$/.test(raw))
    throw ProblemError.badRequest('limit must be a positive integer', [
      { pointer: '/query/limit', message: 'must be a positive integer' },
    ]);
  return Math.min(Math.max(Number(raw), 1), max);
}

/** A boolean query flag (`?acceptValid=true`). */
export function flag(req: Request, name: string): boolean {
  const raw = req.query[name];
  if (raw === undefined) return false;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw ProblemError.badRequest(`${name} must be true or false`, [
    { pointer: `/query/${name}`, message: 'must be true or false' },
  ]);
}

/** One string query parameter, or undefined; 400 when repeated. */
export function queryString(req: Request, name: string, max = 200): string | undefined {
  const raw = req.query[name];
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string' || raw.length > max)
    throw ProblemError.badRequest(`${name} must be one value of at most ${max} characters`, [
      { pointer: `/query/${name}`, message: `must be one value of at most ${max} characters` },
    ]);
  return raw;
}

/** 415 for a body of a type the route does not read. */
export function unsupportedType(req: Request, accepted: string[]): ProblemError {
  return new ProblemError(
    415,
    'unsupported-media-type',
    'Unsupported media type',
    `Send the body as ${accepted.join(' or ')}; got ${req.get('content-type') ?? 'no Content-Type'}`,
  );
}

/** Opaque keyset cursor of the last row's keys (lib/cursor.ts). */
export function encodeCursor(values: unknown[]): string {
  return encodeCursorValue(values);
}

/** Decodes a cursor made by `encodeCursor`; 400 when it is not one. */
export function decodeCursor(req: Request, length: number): unknown[] | undefined {
  const raw = queryString(req, 'cursor', 1000);
  if (raw === undefined) return undefined;
  const values = decodeCursorValue(raw);
  if (Array.isArray(values) && values.length === length) return values;
  throw ProblemError.badRequest('The cursor is not valid', [
    { pointer: '/query/cursor', message: 'is not a cursor this API returned' },
  ]);
}

/** Text bodies (CSV, vCard) must not hold NUL characters: Postgres text cannot store them. */
export function textBody(req: Request, accepted: string[]): string {
  if (typeof req.body !== 'string') throw unsupportedType(req, accepted);
  const at = req.body.indexOf('\u0000');
  if (at >= 0)
    throw ProblemError.badRequest('The body contains a NUL character', [
      { pointer: '/body', message: `has a NUL character at offset ${at}` },
    ]);
  return req.body;
}
