import type { Static, TSchema } from '@sinclair/typebox';
import { fieldErrors, validatorFor } from '../lib/json-validation';
import { ProblemError } from './problem';

export { ajv, fieldErrors, validatorFor } from '../lib/json-validation';

/**
 * Validates a value against a schema; throws a 400 problem listing every error. With a TypeBox schema the
 * result has the schema's own type (`Static`), so a handler's body type cannot drift from what is checked.
 */
export function check<S extends TSchema>(schema: S, value: unknown, prefix: string, what?: string): Static<S>;
/** The same for a schema known only at run time (a case type's fields, a step's form): nothing to type it by. */
export function check(schema: object, value: unknown, prefix: string, what?: string): unknown;
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
