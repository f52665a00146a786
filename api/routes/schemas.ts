import { Router } from 'express';
import { permit } from '../../crm/permissions';
import { customFields, customSchema, type CustomSchemaName } from '../../crm/schemas';
import { callerOf } from '../auth';
import type { ApiContext } from '../context';
import { problemResponses, type OperationSpec } from '../operation';
import { ProblemError } from '../problem';

const NAMES: CustomSchemaName[] = ['entity', 'contact'];

const nullable = (type: string) => ({ type: [type, 'null'] });

const fieldSchema = {
  type: 'object',
  properties: {
    path: { type: 'string', description: 'Dotted path under `custom`; segments filter it as custom.<path>' },
    type: { type: 'string', description: 'JSON Schema type: string, integer, number, boolean, array' },
    label: { type: 'string', description: "The schema's title, or the field name in words" },
    description: nullable('string'),
    format: { ...nullable('string'), description: 'date, uri, ...' },
    enum: { type: ['array', 'null'], description: 'The allowed values, when the field has a list' },
    itemType: { ...nullable('string'), description: 'Type of the items of an array field' },
    required: { type: 'boolean' },
  },
  required: ['path', 'type', 'label', 'description', 'format', 'enum', 'itemType', 'required'],
};

export const schemaOperations: OperationSpec[] = [
  {
    method: 'get',
    path: '/api/schemas/:name',
    operationId: 'getCustomFieldSchema',
    tag: 'CRM: Schemas',
    summary: 'The company-defined (custom) fields of entities or contacts, with their types and labels',
    description:
      '`name` is `entity` or `contact`. `fields` lists every leaf field in the order the schema declares it (nested objects walked into, as `billing.paymentTerms`); `schema` is the JSON Schema every write is validated against (definitions/<name>.schema.json). Every role may read it: it holds no personal data.',
    params: { name: 'entity or contact' },
    responses: {
      '200': {
        description: 'The custom fields',
        schema: {
          type: 'object',
          properties: {
            name: { enum: NAMES },
            fields: { type: 'array', items: fieldSchema },
            schema: { type: 'object', description: 'The JSON Schema of `custom`' },
          },
          required: ['name', 'fields', 'schema'],
        },
      },
      ...problemResponses(401, 404),
    },
  },
];

/** The custom-field schemas of entities and contacts. */
export function schemaRoutes(_ctx: ApiContext): Router {
  const router = Router();
  router.get('/schemas/:name', (req, res) => {
    permit(callerOf(req), 'schema', 'read');
    const name = req.params.name as CustomSchemaName;
    if (!NAMES.includes(name)) throw ProblemError.notFound(`Schema ${req.params.name}`);
    res.json({ name, fields: customFields(name), schema: customSchema(name) });
  });
  return router;
}
