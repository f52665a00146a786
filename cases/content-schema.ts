import { Type } from '@sinclair/typebox';

/** A JSON object of any shape (case data, a line), typed as such: `{"type": "object"}` in the schema. */
export const AnyObject = Type.Unsafe<Record<string, unknown>>({ type: 'object' });

/** What a new case may carry, whether started through the API (`POST /api/cases`) or imported (crm/imports.ts). */
export const caseContentProperties = {
  title: Type.String({ minLength: 1, maxLength: 300 }),
  entityId: Type.String({ minLength: 1, maxLength: 100 }),
  ownerId: Type.String({ minLength: 1, maxLength: 100 }),
  data: AnyObject,
  lines: Type.Array(AnyObject, { maxItems: 1000 }),
};
