import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Db } from '../db';
import { logger } from '../lib/logger';
import type { Caller } from './auth';
import { PROBLEM_BASE, ProblemError, asProblem, shownPath } from './problem';

/** How long a first answer is replayed. */
const RETENTION = '24 hours';

export interface Outcome {
  status: number;
  body: unknown;
  /** Set for problem answers (application/problem+json). */
  problem?: boolean;
  /** Headers of the answer that a replay repeats (e.g. `Location`). */
  headers?: Record<string, string>;
}

/** The Idempotency-Key header, validated; undefined when absent. */
export function idempotencyHeader(req: Request): string | undefined {
  const key = req.get('idempotency-key');
  if (key === undefined) return undefined;
  if (!/^[\x21-\x7e]{1,200}$/.test(key)) {
    throw ProblemError.badRequest('Invalid Idempotency-Key', [
      { pointer: '/headers/idempotency-key', message: 'must be 1-200 visible ASCII characters' },
    ]);
  }
  return key;
}

/** The problem body `problemHandler` would send, for storing and replaying. */
function problemOutcome(err: ProblemError, instance: string): Outcome {
  return {
    status: err.status,
    problem: true,
    body: {
      type: PROBLEM_BASE + err.slug,
      title: err.title,
      status: err.status,
      detail: err.message,
      instance,
      ...err.extensions,
    },
  };
}

function fingerprint(req: Request): string {
  return createHash('sha256')
    .update(`${req.method} ${req.baseUrl}${req.path}\n${JSON.stringify(req.body ?? null)}`)
    .digest('hex');
}

/** Sends an outcome. */
export function sendOutcome(res: Response, outcome: Outcome): void {
  res.status(outcome.status);
  if (outcome.headers) res.set(outcome.headers);
  if (outcome.problem) res.type('application/problem+json');
  res.json(outcome.body);
}

/**
 * Runs a state-changing request at most once per (caller, Idempotency-Key): the first answer (success
 * or a 4xx problem) is stored and replayed to retries; the same key on another request answers 422.
 * `run` receives the key to derive Temporal update ids from, so concurrent duplicates that both miss the
 * store still act once (Temporal deduplicates updates by id) and the first stored answer wins.
 */
export async function idempotent(
  db: Db,
  req: Request,
  res: Response,
  caller: Caller,
  run: (key: string | undefined) => Promise<Outcome>,
): Promise<void> {
  const key = idempotencyHeader(req);
  if (key === undefined) {
    sendOutcome(res, await run(undefined));
    return;
  }
  const print = fingerprint(req);
  const stored = await lookup(db, caller.userId, key);
  if (stored) {
    sendOutcome(res, replay(stored, print, res));
    return;
  }
  let outcome: Outcome;
  try {
    outcome = await run(key);
  } catch (err) {
    // Server-side failures (5xx) are not final: the retry should try again.
    const problem = asProblem(err);
    if (!problem || problem.status >= 500) throw err;
    outcome = problemOutcome(problem, shownPath(req));
  }
  const inserted = await db.query(
    `INSERT INTO idempotent_requests (user_id, key, fingerprint, status, body) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (user_id, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, status = EXCLUDED.status,
       body = EXCLUDED.body, created_at = now()
     WHERE idempotent_requests.created_at <= now() - interval '${RETENTION}'
     RETURNING 1`,
    [
      caller.userId,
      key,
      print,
      outcome.status,
      JSON.stringify({ problem: outcome.problem ?? false, body: outcome.body, headers: outcome.headers }),
    ],
  );
  if (inserted.length === 0) {
    const first = await lookup(db, caller.userId, key);
    if (first) outcome = replay(first, print, res);
  } else if (Math.random() < 0.01) {
    db.query(`DELETE FROM idempotent_requests WHERE created_at < now() - interval '${RETENTION}'`).catch(
      (err: unknown) => logger.warn({ err }, 'purging idempotent requests failed'),
    );
  }
  sendOutcome(res, outcome);
}

type StoredRow = {
  fingerprint: string;
  status: number;
  body: { problem: boolean; body: unknown; headers?: Record<string, string> };
};

async function lookup(db: Db, userId: string, key: string): Promise<StoredRow | undefined> {
  const rows = await db.query<StoredRow>(
    `SELECT fingerprint, status, body FROM idempotent_requests
     WHERE user_id = $1 AND key = $2 AND created_at > now() - interval '${RETENTION}'`,
    [userId, key],
  );
  return rows[0];
}

function replay(stored: StoredRow, print: string, res: Response): Outcome {
  if (stored.fingerprint !== print) {
    throw new ProblemError(
      422,
      'idempotency-key-reused',
      'Idempotency-Key reused',
      'This Idempotency-Key was already used for a different request; use a new key',
    );
  }
  res.set('Idempotent-Replayed', 'true');
  return {
    status: stored.status,
    body: stored.body.body,
    problem: stored.body.problem,
    ...(stored.body.headers ? { headers: stored.body.headers } : {}),
  };
}
