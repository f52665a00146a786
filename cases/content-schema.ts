/** What a new case may carry, whether started through the API (`POST /api/cases`) or imported (crm/imports.ts). */
export const caseContentProperties = {
  title: { type: 'string', minLength: 1, maxLength: 300 },
  entityId: { type: 'string', minLength: 1, maxLength: 100 },
  ownerId: { type: 'string', minLength: 1, maxLength: 100 },
  data: { type: 'object' },
  lines: { type: 'array', maxItems: 1000, items: { type: 'object' } },
} as const;
