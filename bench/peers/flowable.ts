/**
 * The Flowable side of the peers bench: builds bench/peers/flowable with Maven (skipped when the jar is
 * newer than its sources), and runs it on its own database of the bench's PostgreSQL server.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createDb, type Db } from '../../db';
import { freePort } from '../../infra/ports';
import { createDatabaseIfMissing, dropDatabase, withDatabase } from '../../infra/postgres';
import { exited } from '../../test/support/processes';

const PROJECT = path.resolve(__dirname, 'flowable');
const JAR = path.join(PROJECT, 'target', 'flowable-peer.jar');

/** Why Flowable cannot run here (java or mvn missing), or undefined when it can. */
export function missingTools(): string | undefined {
  for (const [tool, args] of [
    ['java', ['-version']],
    ['mvn', ['-v']],
  ] as const) {
    const probe = spawnSync(tool, args, { stdio: 'ignore' });
    if (probe.error || probe.status !== 0) return `${tool} not found on PATH`;
  }
  return undefined;
}

/** The Java and Flowable versions, for the report. */
export function javaVersion(): string {
  const probe = spawnSync('java', ['-version'], { encoding: 'utf8' });
  return (probe.stderr.split('\n')[0] ?? '').trim();
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(full) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

/** Builds the jar with Maven unless it is newer than pom.xml and src/; returns whether it built. */
export function buildFlowable(log: (line: string) => void): boolean {
  const sources = Math.max(
    fs.statSync(path.join(PROJECT, 'pom.xml')).mtimeMs,
    newestSource(path.join(PROJECT, 'src')),
  );
  if (fs.existsSync(JAR) && fs.statSync(JAR).mtimeMs > sources) return false;
  log('building bench/peers/flowable with Maven (first time: downloads Flowable 7.2.0 from Maven Central)');
  const build = spawnSync('mvn', ['-B', '-q', 'package'], { cwd: PROJECT, stdio: 'inherit' });
  if (build.status !== 0) throw new Error(`mvn package failed in ${PROJECT} (exit ${build.status})`);
  return true;
}

export interface FlowablePeer {
  url: string;
  child: ChildProcess;
  /** The engine's own database. */
  db: Db;
  databaseName: string;
  stop(): Promise<void>;
}

/**
 * Starts the wrapper on a fresh database `name` of the server at `serverUrl`, mailing through
 * 127.0.0.1:`smtpPort`. `jfr` names a file for a Flight Recording of the whole run.
 */
export async function startFlowable(options: {
  serverUrl: string;
  name: string;
  smtpPort: number;
  jfr?: string;
}): Promise<FlowablePeer> {
  await createDatabaseIfMissing(options.serverUrl, options.name);
  const url = new URL(withDatabase(options.serverUrl, options.name));
  const port = await freePort();
  const args = [
    // G1, as Java 17 picks it; the heap capped at 1 GiB (the default would be a quarter of the machine's memory).
    '-Xmx1g',
    ...(options.jfr ? [`-XX:StartFlightRecording=filename=${options.jfr},settings=profile`] : []),
    '-jar',
    JAR,
  ];
  const child = spawn('java', args, {
    cwd: PROJECT,
    env: {
      ...process.env,
      JDBC_URL: `jdbc:postgresql://${url.hostname}:${url.port || 5432}${url.pathname}`,
      JDBC_USER: decodeURIComponent(url.username),
      JDBC_PASSWORD: decodeURIComponent(url.password),
      PORT: String(port),
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(options.smtpPort),
      MAIL_FROM: 'crm@example.com',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let errors = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    errors = (errors + chunk.toString()).slice(-4000);
  });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`Flowable exited early with ${code}: ${errors}`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
  });
  const db = createDb(url.toString());
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    db,
    databaseName: options.name,
    async stop() {
      await db.close();
      const done = exited(child);
      if (child.exitCode === null) child.kill('SIGTERM');
      await done;
      await dropDatabase(options.serverUrl, options.name);
    },
  };
}

/** Users with their emails and groups in Flowable's identity tables, and each one's supervisor's email. */
export async function seedFlowableUsers(
  db: Db,
  users: { id: string; name: string; email: string; groups: string[]; supervisorEmail?: string }[],
): Promise<void> {
  await db.transaction(async (tx) => {
    const groups = [...new Set(users.flatMap((u) => u.groups))];
    await tx.query(
      `INSERT INTO act_id_group (id_, rev_, name_, type_) SELECT g, 1, g, 'assignment' FROM unnest($1::text[]) g`,
      [groups],
    );
    for (const u of users) {
      await tx.query('INSERT INTO act_id_user (id_, rev_, first_, email_) VALUES ($1, 1, $2, $3)', [
        u.id,
        u.name,
        u.email,
      ]);
      await tx.query(
        'INSERT INTO act_id_membership (user_id_, group_id_) SELECT $1, g FROM unnest($2::text[]) g',
        [u.id, u.groups],
      );
      if (u.supervisorEmail)
        await tx.query(
          `INSERT INTO act_id_info (id_, rev_, user_id_, type_, key_, value_) VALUES ($1, 1, $2, 'userinfo', 'supervisorEmail', $3)`,
          [`info-${u.id}`, u.id, u.supervisorEmail],
        );
    }
  });
}
