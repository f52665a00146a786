import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { ProblemError, type FieldError } from './problem';

/** One ajv instance for request schemas and definition field schemas; validators are compiled once. */
export const ajv = new Ajv2020({ allErrors: true, strict: false, useDefaults: false });
addFormats(ajv);

const compiled = new WeakMap<object, ValidateFunction>();

/** Compiles (once per schema object) and returns a validator. */
export function validatorFor(schema: object): ValidateFunction {
  let fn = compiled.get(schema);
  if (!fn) {
    fn = ajv.compile(schema);
    compiled.set(schema, fn);
  }
  return fn;
}

/** Turns ajv errors into field errors with JSON pointers under `prefix` (e.g. `/body`). */
export function fieldErrors(errors: ErrorObject[] | null | undefined, prefix: string): FieldError[] {
  return (errors ?? []).map((e) => {
    let pointer = prefix + e.instancePath;
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'additionalProperties') {
      const prop = String((e.params as { additionalProperty: string }).additionalProperty);
      pointer += `/${prop.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      message = 'is not an allowed property';
    } else if (e.keyword === 'required') {
      pointer += `/${String((e.params as { missingProperty: string }).missingProperty)}`;
      message = 'is required';
    }
    return { pointer, message };
  });
}

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
