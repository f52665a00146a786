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

/** A company-defined field as the API lists it, for forms and filters. */
export interface CustomField {
  /** Dotted path under `custom` (`billing.paymentTerms`); segments filter it as `custom.<path>`. */
  path: string;
  /** The JSON Schema type (`string`, `integer`, `number`, `boolean`, `array`). */
  type: string;
  /** What a form shows: the schema's `title`, or the field name in words. */
  label: string;
  description: string | null;
  format: string | null;
  enum: unknown[] | null;
  /** For arrays, the type of the items. */
  itemType: string | null;
  required: boolean;
}

/** `annualRevenue` -> `Annual revenue`, `vip` -> `Vip`. */
function words(name: string): string {
  const spaced = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .toLowerCase();
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

/** Every leaf field of the custom schema, in the order the schema declares them (objects are walked into). */
export function customFields(name: CustomSchemaName): CustomField[] {
  const out: CustomField[] = [];
  const walk = (node: JsonSchemaNode, prefix: string) => {
    const required = new Set(Array.isArray(node.required) ? (node.required as string[]) : []);
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const path = prefix ? `${prefix}.${key}` : key;
      const type =
        (Array.isArray(child.type) ? child.type.find((t) => t !== 'null') : child.type) ?? 'string';
      if (type === 'object' && child.properties) {
        walk(child, path);
        continue;
      }
      out.push({
        path,
        type,
        label: typeof child.title === 'string' ? child.title : words(key),
        description: typeof child.description === 'string' ? child.description : null,
        format: child.format ?? null,
        enum: child.enum ?? null,
        itemType: type === 'array' ? ((child.items?.type as string | undefined) ?? null) : null,
        required: required.has(key),
      });
    }
  };
  walk(customSchema(name), '');
  return out;
}
