/** Helpers shared by the CRM integration tests (test/crm-*.int.test.ts). */
import type { HttpResult, TestEnv, TestUser } from './env';

/** Sends a binary or text body with its own content type (spreadsheets, MIME, vCards). */
export async function upload(
  env: TestEnv,
  user: TestUser,
  url: string,
  body: Buffer | string,
  contentType: string,
): Promise<HttpResult> {
  const res = await fetch(env.baseUrl + url, {
    method: 'POST',
    headers: { authorization: `Bearer ${user.token}`, 'content-type': contentType },
    body,
  });
  const type = res.headers.get('content-type') ?? '';
  const text = await res.text();
  return {
    status: res.status,
    type,
    body: type.includes('json') && text ? JSON.parse(text) : text,
    headers: res.headers,
  };
}

/** Inserts an entity directly (fixtures the test does not exercise). */
export async function seedEntity(
  env: TestEnv,
  fields: {
    id: string;
    kind?: string;
    code: string;
    name: string;
    agentId?: string | null;
    sector?: string;
    zone?: string;
    source?: string;
    custom?: Record<string, unknown>;
  },
): Promise<void> {
  await env.db.query(
    `INSERT INTO entities (id, kind, code, name, agent_id, sector, zone, source, custom)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      fields.id,
      fields.kind ?? 'CL',
      fields.code,
      fields.name,
      fields.agentId ?? null,
      fields.sector ?? null,
      fields.zone ?? null,
      fields.source ?? null,
      JSON.stringify(fields.custom ?? {}),
    ],
  );
}

/** Counts rows of a table matching a condition (to assert that nothing was written). */
export async function count(env: TestEnv, sql: string, params: unknown[] = []): Promise<number> {
  const rows = await env.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params);
  return rows[0]?.n ?? 0;
}
