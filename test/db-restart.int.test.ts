/**
 * A Postgres restart or an administrator's pg_terminate_backend ends the connections the pool has
 * handed out. The process must survive it (in the cluster tier a worker died of an unhandled `error`
 * event of a checked-out client), the query in flight fails with its own error, and the pool serves
 * the next query on a new connection.
 */
import { createDb, type Db } from '../db';

let db: Db;
let admin: Db;

beforeAll(() => {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is required (set by the global test setup)');
  db = createDb(url, { max: 2 });
  admin = createDb(url, { max: 1 });
});

afterAll(async () => {
  await db?.close();
  await admin?.close();
});

const terminate = (pid: number) => admin.query('SELECT pg_terminate_backend($1)', [pid]);

it('survives the connection of a running transaction being terminated, and serves the next query', async () => {
  const crashes: unknown[] = [];
  const onUncaught = (err: unknown) => crashes.push(err);
  process.on('uncaughtException', onUncaught);
  try {
    const failed = db.transaction(async (tx) => {
      const [me] = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await terminate(me!.pid);
      // The server has closed this connection; let the client notice before its next statement.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await tx.query('SELECT 1');
    });
    await expect(failed).rejects.toThrow();
    const [row] = await db.query<{ one: number }>('SELECT 1 AS one');
    expect(row?.one).toBe(1);
  } finally {
    process.off('uncaughtException', onUncaught);
  }
  expect(crashes).toEqual([]);
});

it('survives the connection of a client held outside a transaction being terminated', async () => {
  const client = await db.pool.connect();
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  await terminate(rows[0]!.pid);
  await new Promise((resolve) => setTimeout(resolve, 300));
  await expect(client.query('SELECT 1')).rejects.toThrow();
  client.release(true);
  const [row] = await db.query<{ one: number }>('SELECT 1 AS one');
  expect(row?.one).toBe(1);
});
