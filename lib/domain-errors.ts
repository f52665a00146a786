/**
 * Errors the domain (`crm/`, the case and task services) raises, without knowing HTTP. The API maps each to an
 * RFC 9457 problem of the same status and slug (api/problem.ts); every slug is documented in docs/problems.md.
 */

/** A place in the caller's input (a JSON pointer such as `/query/currency`) and what is wrong there. */
export interface InputError {
  pointer: string;
  message: string;
}

export class DomainError extends Error {
  override name = 'DomainError';
  constructor(
    /** The HTTP status the API answers with (400 invalid input, 404 unknown, 409 conflict). */
    readonly status: number,
    readonly slug: string,
    readonly title: string,
    detail: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail);
  }

  /** Invalid input: at least one pointer says where. */
  static invalid(detail: string, errors: [InputError, ...InputError[]]): DomainError {
    return new DomainError(400, 'validation-error', 'The request is not valid', detail, { errors });
  }
}
