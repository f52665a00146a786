import { useTranslation } from 'react-i18next';

/** The JSON Schema subset step forms and case fields use (definitions/case-type.schema.json). */
export interface FieldSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  enum?: unknown[];
  format?: string;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  default?: unknown;
}

export interface ObjectSchema {
  type?: string;
  properties?: Record<string, FieldSchema>;
  required?: string[];
}

/** `expectedCloseDate` -> "Expected close date" when the schema gives no title. */
export function humanize(key: string): string {
  const words = key
    .replace(/[-_]+/g, ' ')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const typeOf = (s: FieldSchema): string =>
  (Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type) ?? 'string';

interface Props {
  idPrefix: string;
  schema: ObjectSchema;
  value: Record<string, unknown>;
  onChange(value: Record<string, unknown>): void;
  /** Messages per field name, from the problem's JSON pointers. */
  errors: Record<string, string>;
  readOnly?: boolean;
  only?: string[];
}

/**
 * A form generated from a step's or case type's JSON Schema: one labelled control per property, the
 * API's validation message under the field its pointer names. The server validates; the form only
 * shapes the input (numbers as numbers, empty fields left out).
 */
export function SchemaForm({ idPrefix, schema, value, onChange, errors, readOnly, only }: Props) {
  const { t } = useTranslation('tasks');
  const entries = Object.entries(schema.properties ?? {}).filter(([k]) => !only || only.includes(k));
  const set = (key: string, v: unknown) => {
    const next = { ...value };
    if (v === undefined || v === '') delete next[key];
    else next[key] = v;
    onChange(next);
  };
  return (
    <div className="schema-form">
      {entries.map(([key, field]) => {
        const id = `${idPrefix}-${key}`;
        const error = errors[key];
        const required = schema.required?.includes(key) ?? false;
        const type = typeOf(field);
        const current = value[key];
        const describedBy = [error ? `${id}-error` : null, field.description ? `${id}-help` : null]
          .filter(Boolean)
          .join(' ');
        const common = {
          id,
          name: key,
          disabled: readOnly,
          'aria-invalid': error ? true : undefined,
          'aria-describedby': describedBy || undefined,
          'aria-required': required || undefined,
        };
        let control;
        if (field.enum) {
          control = (
            <select
              {...common}
              value={current === undefined ? '' : String(current)}
              onChange={(e) => set(key, e.target.value)}
            >
              <option value="">—</option>
              {field.enum.map((o) => (
                <option key={String(o)} value={String(o)}>
                  {String(o)}
                </option>
              ))}
            </select>
          );
        } else if (type === 'boolean') {
          control = (
            <input
              {...common}
              type="checkbox"
              checked={current === true}
              onChange={(e) => set(key, e.target.checked)}
            />
          );
        } else if (type === 'number' || type === 'integer') {
          control = (
            <input
              {...common}
              type="number"
              inputMode="decimal"
              step={type === 'integer' ? 1 : 'any'}
              value={current === undefined ? '' : String(current)}
              onChange={(e) => set(key, e.target.value === '' ? undefined : Number(e.target.value))}
            />
          );
        } else if (field.format === 'date' || field.format === 'date-time') {
          control = (
            <input
              {...common}
              type={field.format === 'date' ? 'date' : 'datetime-local'}
              value={current === undefined ? '' : String(current)}
              onChange={(e) => set(key, e.target.value)}
            />
          );
        } else if ((field.maxLength ?? 0) > 200) {
          control = (
            <textarea
              {...common}
              rows={4}
              value={current === undefined ? '' : String(current)}
              onChange={(e) => set(key, e.target.value)}
            />
          );
        } else {
          control = (
            <input
              {...common}
              type="text"
              value={current === undefined ? '' : String(current)}
              onChange={(e) => set(key, e.target.value)}
            />
          );
        }
        const length = typeof current === 'string' && field.maxLength ? current.length : null;
        return (
          <div
            key={key}
            className={`field${type === 'boolean' ? ' checkbox' : ''}${error ? ' has-error' : ''}`}
          >
            <label htmlFor={id}>
              {field.title ?? humanize(key)}
              {required && <span aria-hidden="true"> *</span>}
            </label>
            {control}
            {field.description && (
              <p className="help" id={`${id}-help`}>
                {field.description}
              </p>
            )}
            {length !== null && length > (field.maxLength ?? 0) * 0.8 && (
              <p className="help">{t('length', { length, max: field.maxLength })}</p>
            )}
            {error && (
              <p className="field-error" id={`${id}-error`}>
                {error}
              </p>
            )}
          </div>
        );
      })}
    </div>
  );
}
