import type { Static, TSchema } from '@sinclair/typebox';
import { fieldErrors, validatorFor } from '../lib/json-validation';
import { ProblemError } from './problem';

export { ajv, fieldErrors, validatorFor } from '../lib/json-validation';

/**
 * Validates a value against a schema; throws a 400 problem listing every error. With a TypeBox schema the
 * result has the schema's own type (`Static`), so a handler's body type cannot drift from what is checked.
 */
export function check<S extends TSchema>(schema: S, value: unknown, prefix: string, what?: string): Static<S>;
/** The same for a plain JSON Schema object, typed by the caller (routes not yet written with TypeBox). */
export function check<T>(schema: object, value: unknown, prefix: string, what?: string): T;
export function check(schema: object, value: unknown, prefix: string, what = 'request'): unknown {
  const validate = validatorFor(schema);
  if (!validate(value)) {
    throw ProblemError.badRequest(
      `The ${what} has ${validate.errors?.length ?? 1} error(s)`,
      fieldErrors(validate.errors, prefix),
    );
  }
  return value;
}
