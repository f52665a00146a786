/**
 * The company-defined field schemas (`definitions/entity.schema.json`, `definitions/contact.schema.json`):
 * read once from the definitions folder, compiled once, and walked by the segment compiler.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../lib/config';

export type JsonSchemaNode = {
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  properties?: Record<string, JsonSchemaNode>;
  items?: JsonSchemaNode;
  [key: string]: unknown;
};

export type CustomSchemaName = 'entity' | 'contact';

const cache = new Map<CustomSchemaName, JsonSchemaNode>();

/** The custom-field schema of entities or contacts. */
export function customSchema(name: CustomSchemaName): JsonSchemaNode {
  let schema = cache.get(name);
  if (!schema) {
    const file = path.join(loadConfig().definitionsDir, `${name}.schema.json`);
    schema = JSON.parse(fs.readFileSync(file, 'utf8')) as JsonSchemaNode;
    // The $schema keyword selects a meta-schema; the shared ajv instance is already 2020-12.
    delete schema.$schema;
    cache.set(name, schema);
  }
  return schema;
}

/** The scalar type a custom field holds, for the segment compiler. */
export type FieldType = 'string' | 'number' | 'boolean' | 'date' | 'string[]';

/** Resolves `a.b` under the schema's properties to its type; undefined when not declared. */
export function customFieldType(name: CustomSchemaName, dotted: string): FieldType | undefined {
  let node: JsonSchemaNode | undefined = customSchema(name);
  for (const part of dotted.split('.')) {
    node = node?.properties && Object.hasOwn(node.properties, part) ? node.properties[part] : undefined;
    if (!node) return undefined;
  }
  const type = Array.isArray(node.type) ? node.type.find((t) => t !== 'null') : node.type;
  switch (type) {
    case 'string':
      return node.format === 'date' || node.format === 'date-time' ? 'date' : 'string';
    case 'number':
    case 'integer':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'array':
      return node.items?.type === 'string' ? 'string[]' : undefined;
    default:
      return undefined;
  }
}
