/**
 * Errors the domain (`crm/`, the case and task services) raises, without knowing HTTP. Each carries a stable
 * string `code` (also the slug of its problem type, documented in docs/problems.md), a title, a detail and the
 * context fields a caller needs. The API maps each kind of error to one HTTP status in one place (api/problem.ts).
 */

/** A place in the caller's input (a JSON pointer such as `/query/currency`) and what is wrong there. */
export interface InputError {
  pointer: string;
  message: string;
}

/** What a domain error says about the request; api/problem.ts picks the HTTP status from it. */
export type DomainErrorKind =
  'invalid' | 'forbidden' | 'not-found' | 'conflict' | 'too-large' | 'unprocessable';

/** Base of every domain error: `code` is stable, `context` holds the fields a caller needs. */
export abstract class DomainError extends Error {
  abstract readonly kind: DomainErrorKind;
  constructor(
    readonly code: string,
    readonly title: string,
    detail: string,
    readonly context: Record<string, unknown> = {},
  ) {
    super(detail);
  }
}

/**
 * Input the domain refuses. `errors` says where (never empty: with none given, the detail stands at the root,
 * pointer ``); the code is `validation-error` unless a more precise one applies.
 */
export class InvalidInputError extends DomainError {
  override name = 'InvalidInputError';
  readonly kind = 'invalid';
  readonly errors: InputError[];
  constructor(
    detail: string,
    errors: InputError[],
    more: { code?: string; title?: string; context?: Record<string, unknown> } = {},
  ) {
    const listed = errors.length > 0 ? errors : [{ pointer: '', message: detail }];
    super(more.code ?? 'validation-error', more.title ?? 'The request is not valid', detail, {
      errors: listed,
      ...more.context,
    });
    this.errors = listed;
  }
}

/** The caller may not do this: their role never may, or the record is one they see but may not change. */
export class ForbiddenError extends DomainError {
  override name = 'ForbiddenError';
  readonly kind = 'forbidden';
  constructor(detail: string, context: Record<string, unknown> = {}) {
    super('forbidden', 'Forbidden', detail, context);
  }
}

/** The record the request names does not exist (or the caller may not know it exists). */
export class NotFoundError extends DomainError {
  override name = 'NotFoundError';
  readonly kind = 'not-found';
}

/** The request conflicts with what is stored (a duplicate code, a record in the wrong state). */
export class ConflictError extends DomainError {
  override name = 'ConflictError';
  readonly kind = 'conflict';
}

/** The input is larger than the domain accepts (rows of a document, items of a list). */
export class TooLargeError extends DomainError {
  override name = 'TooLargeError';
  readonly kind = 'too-large';
}

/** Well-formed input that cannot be processed as configured (no mailbox for a recipient, a misconfiguration). */
export class UnprocessableError extends DomainError {
  override name = 'UnprocessableError';
  readonly kind = 'unprocessable';
}
