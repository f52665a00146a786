import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import nodemailer, { type Transporter } from 'nodemailer';
import pg from 'pg';
import { loadConfig } from '../lib/config';
import { freePort, isPortFree } from '../infra/ports';
import { PostgresStartError, startEmbeddedPostgres } from '../infra/postgres';
import { startSmtpSink } from '../infra/smtp-sink';
import type { SmtpSink } from '../infra/smtp-sink';
import {
  cachedCliPath,
  extractFromTarGz,
  resolveTemporalCli,
  TemporalCliPathError,
} from '../infra/temporal-cli';
import {
  ensureSearchAttributes,
  SearchAttributeConflictError,
  startTemporalDevServer,
  TemporalServerStartError,
} from '../infra/temporal-server';

const quiet = (): void => undefined;
let tmp: string;

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'crm-infra-test-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

async function customAttributes(address: string): Promise<Record<string, unknown>> {
  const connection = await Connection.connect({ address });
  try {
    return (await connection.operatorService.listSearchAttributes({ namespace: 'default' })).customAttributes;
  } finally {
    await connection.close();
  }
}

async function withBlockedPort(fn: (port: number) => Promise<void>): Promise<void> {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  try {
    await fn((blocker.address() as net.AddressInfo).port);
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
  }
}

/** The CLI global setup uses; every Temporal test below needs it anyway. */
async function cli(): Promise<string> {
  const config = loadConfig();
  return (
    await resolveTemporalCli({ cacheDir: config.cacheDir, cliPathEnv: config.temporalCliPath, log: quiet })
  ).path;
}

describe('shared test environment', () => {
  it('exposes a Temporal server with the case search attributes', async () => {
    const address = process.env.TEST_TEMPORAL_ADDRESS;
    expect(address).toBeTruthy();
    const attrs = await customAttributes(address!);
    expect(Object.keys(attrs)).toEqual(expect.arrayContaining(['CaseType', 'CaseStatus']));
  });

  it('exposes a Postgres database', async () => {
    const client = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
    await client.connect();
    try {
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await client.end();
    }
  });
});

describe('resolveTemporalCli', () => {
  it('uses TEMPORAL_CLI_PATH when it is executable', async () => {
    const real = await cli();
    await expect(resolveTemporalCli({ cacheDir: tmp, cliPathEnv: real, log: quiet })).resolves.toEqual({
      path: real,
      source: 'TEMPORAL_CLI_PATH',
    });
  });

  it('rejects a TEMPORAL_CLI_PATH that is missing or not executable, without falling back', async () => {
    const missing = path.join(tmp, 'nope');
    await expect(resolveTemporalCli({ cacheDir: tmp, cliPathEnv: missing, log: quiet })).rejects.toThrow(
      TemporalCliPathError,
    );
    const notExecutable = path.join(tmp, 'not-executable');
    await fs.writeFile(notExecutable, '');
    await expect(
      resolveTemporalCli({ cacheDir: tmp, cliPathEnv: notExecutable, log: quiet }),
    ).rejects.toThrow(/is not executable/);
  });

  it('finds a cached build when nothing is on PATH', async () => {
    const cacheDir = path.join(tmp, 'cache');
    await fs.mkdir(path.join(cacheDir, 'bin'), { recursive: true });
    await fs.symlink(await cli(), cachedCliPath(cacheDir));
    await expect(resolveTemporalCli({ cacheDir, pathEnv: '', log: quiet })).resolves.toEqual({
      path: cachedCliPath(cacheDir),
      source: 'cache',
    });
  });

  it('extracts the binary from a downloaded tar.gz', async () => {
    const dir = path.join(tmp, 'tar');
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, 'temporal'), 'binary');
    await fs.writeFile(path.join(dir, 'LICENSE'), 'license');
    const archive = path.join(tmp, 'cli.tar.gz');
    execFileSync('tar', ['-czf', archive, '-C', dir, 'LICENSE', './temporal']);
    const content = await fs.readFile(archive);
    expect(extractFromTarGz(content, 'temporal')?.toString()).toBe('binary');
    expect(extractFromTarGz(content, 'missing')).toBeUndefined();
  });
});

describe('startTemporalDevServer', () => {
  it('serves the UI and registers search attributes; stop() frees the port', async () => {
    const [port, uiPort] = [await freePort(), await freePort()];
    const server = await startTemporalDevServer({
      cliPath: await cli(),
      port,
      uiPort,
      namespace: 'default',
      searchAttributes: { CaseType: 'Keyword', Score: 'Int' },
      log: quiet,
    });
    try {
      expect(server.address).toBe(`127.0.0.1:${port}`);
      expect((await fetch(server.uiUrl!)).status).toBe(200);
      expect(await customAttributes(server.address)).toMatchObject({ CaseType: 2, Score: 3 });
    } finally {
      await server.stop();
    }
    expect(await isPortFree(port)).toBe(true);
  });

  it('registers new search attributes on a persisted database, where start flags are ignored', async () => {
    const dbFile = path.join(tmp, 'temporal.sqlite');
    const base = { cliPath: await cli(), namespace: 'default', dbFile, log: quiet };
    const first = await startTemporalDevServer({
      ...base,
      port: await freePort(),
      searchAttributes: { A1: 'Text' },
    });
    await first.stop();
    const second = await startTemporalDevServer({
      ...base,
      port: await freePort(),
      searchAttributes: { A1: 'Text', CaseStatus: 'Keyword' },
    });
    try {
      expect(await customAttributes(second.address)).toMatchObject({ A1: 1, CaseStatus: 2 });
      const connection = await Connection.connect({ address: second.address });
      try {
        await expect(ensureSearchAttributes(connection, 'default', { A1: 'Text' })).resolves.toEqual([]);
        await expect(ensureSearchAttributes(connection, 'default', { A1: 'Int' })).rejects.toThrow(
          SearchAttributeConflictError,
        );
      } finally {
        await connection.close();
      }
    } finally {
      await second.stop();
    }
  });

  it('fails clearly when the port is taken', async () => {
    const cliPath = await cli();
    await withBlockedPort(async (port) => {
      await expect(
        startTemporalDevServer({ cliPath, port, namespace: 'default', searchAttributes: {}, log: quiet }),
      ).rejects.toThrow(TemporalServerStartError);
    });
  });
  it('reports how the server exited, with the tail of its output', async () => {
    const fake = path.join(tmp, 'fake-temporal');
    await fs.writeFile(fake, '#!/bin/sh\necho "unknown flag: --bogus" >&2\nexit 3\n', { mode: 0o755 });
    const started = startTemporalDevServer({
      cliPath: fake,
      port: await freePort(),
      namespace: 'default',
      searchAttributes: {},
      log: quiet,
    });
    await expect(started).rejects.toThrow(TemporalServerStartError);
    await expect(started).rejects.toThrow(/exited with 3[\s\S]*unknown flag: --bogus/);
  });
});

describe('startEmbeddedPostgres', () => {
  it('keeps data across a stop and a restart of the same cluster, with the settings given at start', async () => {
    const dataDir = path.join(tmp, 'pg');
    const port = await freePort();
    const first = await startEmbeddedPostgres({ dataDir, port, log: quiet, unsafeFast: true });
    expect(first.url).toBe(`postgres://postgres:postgres@127.0.0.1:${port}/crm`);
    await query(first.url, "CREATE TABLE kept (name text); INSERT INTO kept VALUES ('Zoë')");
    await first.stop();
    expect(await isPortFree(port)).toBe(true);

    const logs: string[] = [];
    const second = await startEmbeddedPostgres({
      dataDir,
      port,
      log: (m) => logs.push(m),
      settings: loadConfig({ EMBEDDED_POSTGRES_SETTINGS: 'shared_buffers=64MB  work_mem=8MB' })
        .embeddedPostgresSettings,
    });
    try {
      expect(await query(second.url, 'SELECT name FROM kept')).toEqual([{ name: 'Zoë' }]);
      expect(logs).toEqual([]); // no initdb, no CREATE DATABASE the second time
      expect(await query(second.url, "SELECT current_setting('shared_buffers') AS sb")).toEqual([
        { sb: '64MB' },
      ]);
      expect(await query(second.url, "SELECT current_setting('work_mem') AS wm")).toEqual([{ wm: '8MB' }]);
    } finally {
      await second.stop();
    }
  });

  it('refuses settings that are not name=value pairs, naming the variable', () => {
    expect(() => loadConfig({ EMBEDDED_POSTGRES_SETTINGS: 'shared_buffers=1GB -c fsync=off' })).toThrow(
      'EMBEDDED_POSTGRES_SETTINGS must be space-separated name=value settings, got "-c"',
    );
    expect(loadConfig({}).embeddedPostgresSettings).toEqual([]);
  });

  it('refuses a non-empty directory that holds no cluster, and leaves it alone', async () => {
    const dataDir = path.join(tmp, 'not-a-cluster');
    await fs.mkdir(dataDir);
    await fs.writeFile(path.join(dataDir, 'notes.txt'), 'mine');
    await expect(startEmbeddedPostgres({ dataDir, port: await freePort(), log: quiet })).rejects.toThrow(
      /not empty but holds no Postgres cluster/,
    );
    expect((await fs.stat(path.join(dataDir, 'notes.txt'))).uid).toBe(process.getuid?.());
  });

  it('fails clearly when the port is taken', async () => {
    await withBlockedPort(async (port) => {
      await expect(
        startEmbeddedPostgres({ dataDir: path.join(tmp, 'pg-busy'), port, log: quiet }),
      ).rejects.toThrow(PostgresStartError);
    });
  });
});

async function query(url: string, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query(sql);
    return (Array.isArray(result) ? result.at(-1) : result).rows as unknown[];
  } finally {
    await client.end();
  }
}

describe('startSmtpSink', () => {
  let sink: SmtpSink;
  const transport = (): Transporter =>
    nodemailer.createTransport({ host: '127.0.0.1', port: sink.port, secure: false, ignoreTLS: true });

  beforeEach(async () => {
    sink = await startSmtpSink({ port: 0, maxMessages: 3 });
  });
  afterEach(async () => {
    await sink.stop();
  });

  it('keeps what nodemailer sends, parsed', async () => {
    await transport().sendMail({
      from: 'CRM <crm@example.test>',
      to: 'Ann <ann@example.test>',
      cc: 'bob@example.test',
      bcc: 'audit@example.test',
      subject: 'Case 42 opened',
      text: 'Hello Ann',
      html: '<p>Hello Ann</p>',
      attachments: [{ filename: 'case.ics', content: 'BEGIN:VCALENDAR', contentType: 'text/calendar' }],
    });
    const mail = await sink.waitFor((m) => m.subject === 'Case 42 opened', 5000);
    expect(mail).toMatchObject({
      envelopeFrom: 'crm@example.test',
      envelopeTo: ['ann@example.test', 'bob@example.test', 'audit@example.test'],
      from: 'crm@example.test',
      to: ['ann@example.test'],
      cc: ['bob@example.test'],
      text: 'Hello Ann',
      html: '<p>Hello Ann</p>',
      attachments: [{ filename: 'case.ics', contentType: 'text/calendar', size: 15 }],
    });
    expect(mail.messageId).toMatch(/^<.+@.+>$/);
    expect(mail.raw).toContain('Subject: Case 42 opened');
  });

  it('answers DATA with the injected code for the next n messages only', async () => {
    const mail = { from: 'crm@example.test', to: 'ann@example.test', text: 'x' };
    sink.failNext(1, 451, 'Try again later');
    await expect(transport().sendMail({ ...mail, subject: 'a' })).rejects.toMatchObject({
      responseCode: 451,
    });
    sink.failNext(1, 550);
    await expect(transport().sendMail({ ...mail, subject: 'b' })).rejects.toMatchObject({
      responseCode: 550,
    });
    await transport().sendMail({ ...mail, subject: 'c' });
    expect(sink.messages().map((m) => m.subject)).toEqual(['c']);
  });

  it('keeps only the newest maxMessages and can be cleared', async () => {
    for (const subject of ['1', '2', '3', '4']) {
      await transport().sendMail({
        from: 'crm@example.test',
        to: 'ann@example.test',
        subject,
        text: subject,
      });
    }
    expect(sink.messages().map((m) => m.subject)).toEqual(['2', '3', '4']);
    sink.clear();
    expect(sink.messages()).toEqual([]);
    await expect(sink.waitFor(() => true, 50)).rejects.toThrow(/No matching mail within 50 ms/);
  });
});
