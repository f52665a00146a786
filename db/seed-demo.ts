import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Db, Queryable } from './index';
import { issueToken } from '../identity/tokens';
import { hashPassword } from '../lib/passwords';

export interface DemoUser {
  id: string;
  name: string;
  role: string;
  token: string;
  /** Signs in to the web app (with `email`). */
  email: string;
  password: string;
}

/** A random demo password: readable, and different on every machine (like the tokens). */
const demoPassword = (id: string) => `${id}-${randomBytes(9).toString('base64url')}`;

/** Sets a demo user's password (only its hash is stored). */
async function setPassword(db: Queryable, userId: string, password: string): Promise<void> {
  await db.query('UPDATE users SET password_hash = $2, password_changed_at = now() WHERE id = $1', [
    userId,
    await hashPassword(password),
  ]);
}

const USERS = [
  {
    id: 'alice',
    name: 'Alice Agent',
    email: 'alice@example.com',
    role: 'agent',
    locale: 'en',
    teams: ['sales'],
  },
  { id: 'bob', name: 'Bob Agent', email: 'bob@example.com', role: 'agent', locale: 'es', teams: ['sales'] },
  {
    id: 'carol',
    name: 'Carol Support',
    email: 'carol@example.com',
    role: 'agent',
    locale: 'en',
    teams: ['support'],
  },
  {
    id: 'sam',
    name: 'Sam Supervisor',
    email: 'sam@example.com',
    role: 'supervisor',
    locale: 'en',
    teams: ['sales'],
  },
  { id: 'dana', name: 'Dana Designer', email: 'dana@example.com', role: 'designer', locale: 'en', teams: [] },
  { id: 'admin', name: 'Ada Admin', email: 'admin@example.com', role: 'admin', locale: 'en', teams: [] },
] as const;

/**
 * Seeds demo users, teams and an entity once, and keeps their tokens and passwords in
 * `<dataDir>/demo-tokens.json` (the database only holds hashes, so the clear secrets live in this local,
 * git-ignored file). A file from before passwords existed gets them added.
 */
export async function seedDemo(db: Db, dataDir: string): Promise<DemoUser[]> {
  const file = path.join(dataDir, 'demo-tokens.json');
  if (fs.existsSync(file)) {
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as DemoUser[];
    const [{ n }] = (await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM users WHERE id = ANY($1)',
      [saved.map((u) => u.id)],
    )) as [{ n: number }];
    if (n === saved.length) {
      const missing = saved.filter((u) => !u.password);
      if (missing.length === 0) return saved;
      const byId = new Map<string, { email: string }>(USERS.map((u) => [u.id, u]));
      for (const u of missing) {
        u.password = demoPassword(u.id);
        u.email = byId.get(u.id)?.email ?? u.email;
        await setPassword(db, u.id, u.password);
      }
      fs.writeFileSync(file, JSON.stringify(saved, null, 2), { mode: 0o600 });
      return saved;
    }
  }
  const users: DemoUser[] = [];
  await db.transaction(async (tx) => {
    for (const u of USERS) {
      await tx.query(
        `INSERT INTO users (id, name, email, role, locale) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING`,
        [u.id, u.name, u.email, u.role, u.locale],
      );
    }
    await tx.query(
      `INSERT INTO teams (id, name, supervisor_id) VALUES ('sales', 'Sales', 'sam'), ('support', 'Post-sale support', 'sam') ON CONFLICT (id) DO NOTHING`,
    );
    for (const u of USERS) {
      for (const team of u.teams) {
        await tx.query('INSERT INTO team_members (team_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
          team,
          u.id,
        ]);
      }
    }
    await tx.query(
      `INSERT INTO entities (id, kind, code, name, agent_id) VALUES ('ent-acme', 'CL', 'C0001', 'ACME Industries', 'alice'),
       ('ent-globex', 'CL', 'C0002', 'Globex', 'bob') ON CONFLICT (id) DO NOTHING`,
    );
    // Email-to-case: mail sent to this address opens an opportunity owned by Sam.
    await tx.query(
      `INSERT INTO inbound_mailboxes (address, case_type, entity_kind, owner_id) VALUES ('sales@crm.localhost', 'opportunity', 'EN', 'sam')
       ON CONFLICT (address) DO NOTHING`,
    );
    for (const u of USERS) {
      const { token } = await issueToken(tx, u.id, 'demo');
      const password = demoPassword(u.id);
      await setPassword(tx, u.id, password);
      users.push({ id: u.id, name: u.name, role: u.role, token, email: u.email, password });
    }
  });
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(file, JSON.stringify(users, null, 2), { mode: 0o600 });
  return users;
}
