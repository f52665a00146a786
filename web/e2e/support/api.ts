import { randomBytes } from 'node:crypto';
import { readState } from './stack';

/** Set-up calls the tests make as the demo administrator (users, teams, cases), through the public API. */
export async function adminCall<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const { baseUrl, adminToken } = readState();
  const res = await fetch(baseUrl + path, {
    method,
    headers: {
      Authorization: `Bearer ${adminToken}`,
      ...(body ? { 'Content-Type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

export const uid = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

export interface Person {
  id: string;
  name: string;
  email: string;
  password: string;
}

/** A new user with a password, on the given teams (sales is the seeded team the shipped opportunity uses). */
export async function newUser(
  name: string,
  role: 'agent' | 'supervisor' = 'agent',
  teams: string[] = ['sales'],
  locale: 'en' | 'es' = 'en',
): Promise<Person> {
  const id = uid(
    (name.split(' ')[0] as string)
      .normalize('NFD')
      .replace(/[^A-Za-z]/g, '')
      .toLowerCase(),
  );
  const person = { id, name, email: `${id}@e2e.example`, password: `pw-${randomBytes(8).toString('hex')}` };
  await adminCall('POST', '/api/users', {
    id,
    name,
    email: person.email,
    role,
    locale,
    password: person.password,
  });
  for (const team of teams) await adminCall('PUT', `/api/teams/${team}/members/${id}`);
  return person;
}

export async function newTeam(name: string, supervisorId: string): Promise<string> {
  const id = uid('team');
  await adminCall('POST', '/api/teams', { id, name, supervisorId });
  return id;
}

export interface Opportunity {
  id: string;
  title: string;
  /** The customer's name; its first word is unique to the test, so `?q=<word>` shows only its tasks. */
  customer: string;
  word: string;
}

/** Opens a shipped opportunity for a new customer with one contact (its tasks go to the sales team). */
export async function startOpportunity(
  subject: string,
  amount = 12500,
  word = uid('Acme').replace('-', ''),
): Promise<Opportunity> {
  const customer = `${word} Logistics`;
  const entity = await adminCall<{ id: string }>('POST', '/api/entities', { name: customer });
  await adminCall('POST', `/api/entities/${entity.id}/contacts`, {
    name: 'Marta Compras',
    email: `marta.${word.toLowerCase()}@customer.example`,
    phone: '+34 600 123 456',
    isPrimary: true,
  });
  const kase = await adminCall<{ id: string; title: string }>('POST', '/api/cases', {
    caseType: 'opportunity',
    entityId: entity.id,
    data: { subject, amount, currency: 'EUR' },
  });
  return { id: kase.id, title: kase.title, customer, word };
}
