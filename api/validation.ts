import { fieldErrors, validatorFor } from '../lib/json-validation';
import { ProblemError } from './problem';

export { ajv, fieldErrors, validatorFor } from '../lib/json-validation';

/** Validates a value against a schema; throws a 400 problem listing every error. */
export function check<T>(schema: object, value: unknown, prefix: string, what = 'request'): T {
  const validate = validatorFor(schema);
  if (!validate(value)) {
    throw ProblemError.badRequest(
      `The ${what} has ${validate.errors?.length ?? 1} error(s)`,
      fieldErrors(validate.errors, prefix),
    );
  }
  return value as T;
}
