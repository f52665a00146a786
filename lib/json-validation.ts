import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { pointerTo } from './json-pointer';

/**
 * The one ajv instance for request schemas and case data: the API checks `POST /api/cases` with it, and the
 * worker checks a sub-case's data with it before starting the child. Validators are compiled once.
 */
export const ajv = new Ajv2020({ allErrors: true, strict: false, useDefaults: false });
addFormats(ajv);

/** One problem of a value, located by JSON pointer. */
export interface ValueError {
  pointer: string;
  message: string;
}

const compiled = new WeakMap<object, ValidateFunction>();
const compiledByText = new Map<string, ValidateFunction>();
const MAX_BY_TEXT = 500;

/** Compiles (once per schema object) and returns a validator. */
export function validatorFor(schema: object): ValidateFunction {
  let fn = compiled.get(schema);
  if (!fn) {
    // Schemas that arrive as fresh objects (activity inputs, stored definitions) are compiled once per content.
    const text = JSON.stringify(schema);
    fn = compiledByText.get(text);
    if (!fn) {
      fn = ajv.compile(schema);
      if (compiledByText.size >= MAX_BY_TEXT) compiledByText.clear();
      compiledByText.set(text, fn);
    }
    compiled.set(schema, fn);
  }
  return fn;
}

/** Turns ajv errors into errors with JSON pointers under `prefix` (e.g. `/body`). */
export function fieldErrors(errors: ErrorObject[] | null | undefined, prefix: string): ValueError[] {
  return (errors ?? []).map((e) => {
    let pointer = prefix + e.instancePath;
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'additionalProperties') {
      const prop = String((e.params as { additionalProperty: string }).additionalProperty);
      pointer = pointerTo(pointer, prop);
      message = 'is not an allowed property';
    } else if (e.keyword === 'required') {
      pointer = pointerTo(pointer, String((e.params as { missingProperty: string }).missingProperty));
      message = 'is required';
    }
    return { pointer, message };
  });
}

/** Every error of `value` against `schema`, pointers under `prefix`; empty when it fits. */
export function valueErrors(schema: object, value: unknown, prefix = ''): ValueError[] {
  const validate = validatorFor(schema);
  return validate(value) ? [] : fieldErrors(validate.errors, prefix);
}
