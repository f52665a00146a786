/**
 * CRM reports and campaigns at scale: forecast and open-cases latency and entity search with 1,000,000 entities
 * and 1,000,000 cases by default (CRM_BENCH_ENTITIES, CRM_BENCH_CASES; the labels print the sizes used) (seeded with generate_series straight into the read model), then a 10,000-target campaign from
 * POST /start until every target's case exists in the read model, with the CPU each process used.
 */
import os from 'node:os';
import { shippedDefinition, scoped, startTestEnv, type TestEnv, type TestUser } from '../test/support/env';
import { TEST_ENV_KEY, type TestEnvHandles } from '../test/global-teardown';
import { latestDefinition } from '../db/definitions';
import { DEFAULT_SECURITY } from '../lib/config';
import { CASE_WORKFLOW_TYPE } from '../workflows/messages';
import type { Bench, BenchResult } from './run';
import { cpuByPid, cpuDelta, postgresPids } from './proc';
import { ms, percentile } from './stats';

const ENTITIES = Number(process.env.CRM_BENCH_ENTITIES ?? 1_000_000);
const CASES = Number(process.env.CRM_BENCH_CASES ?? 1_000_000);
const AGENTS = 50;
const TARGETS = Number(process.env.CRM_BENCH_TARGETS ?? 10_000);
const CONTROL = Number(process.env.CRM_BENCH_CONTROL ?? 1000);
const SKIP_REPORTS = process.env.CRM_BENCH_SKIP_REPORTS === '1';
const RUNS = 25;
const CAMPAIGN_TIMEOUT_MS = 20 * 60_000;

/** A size as the labels print it: 1M, 100k, 2.5k, 750. */
function count(n: number): string {
  if (n >= 1_000_000) return `${Number((n / 1_000_000).toFixed(2))}M`;
  if (n >= 1000) return `${Number((n / 1000).toFixed(1))}k`;
  return String(n);
}

export async function seed(env: TestEnv, opportunity: string, followUp: string): Promise<string[]> {
  const agents = Array.from({ length: AGENTS }, (_, i) => `bench-agent-${i + 1}`);
  await env.db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO users (id, name, email, role)
       SELECT a, 'Agent ' || a, a || '@bench.example', 'agent' FROM unnest($1::text[]) a`,
      [agents],
    );
    await tx.query(
      `INSERT INTO teams (id, name, supervisor_id) VALUES ('bench-sales', 'bench sales', $1), ('bench-east', 'bench east', $1)`,
      [env.users.sam.id],
    );
    await tx.query(
      `INSERT INTO team_members (team_id, user_id)
       SELECT CASE WHEN i <= 25 THEN 'bench-sales' ELSE 'bench-east' END, a FROM unnest($1::text[]) WITH ORDINALITY AS x(a, i)`,
      [agents],
    );
  });
  await env.db.query(
    `INSERT INTO entities (id, kind, code, name, entity_type, email, agent_id, sector, zone, source, custom, created_at)
     SELECT 'be-' || g, (ARRAY['EN','CL','PR'])[1 + g % 3], 'BE' || g,
            -- Surnames with and without accents, 1 in 8 entities each, for the accent-insensitive search.
            (ARRAY['Gómez','Núñez','Pérez','Ibáñez','Muñoz','García','Smith','Müller'])[1 + g % 8] || ' bench entity ' || g,
            CASE WHEN g % 2 = 0 THEN 'company' ELSE 'person' END, 'be' || g || '@bench.example',
            ($1::text[])[1 + g % ${AGENTS}],
            (ARRAY['retail','food','logistics','industry','health','energy','public','services'])[1 + g % 8],
            (ARRAY['north','south','east','west','centre','islands'])[1 + (g / 7) % 6],
            (ARRAY['web','fair','referral','email','erp'])[1 + (g / 3) % 5],
            jsonb_build_object('employees', g % 1000, 'tier', (ARRAY['SMB','MID','ENT'])[1 + g % 3]),
            now() - (g % 1000) * interval '1 day'
     FROM generate_series(1, ${ENTITIES}) g`,
    [agents],
  );
  // 60% opportunities (20% identifying, 15% presenting, 10% deciding, 5% postponed, 25% won, 25% lost) with
  // amounts and close dates over three years, 1 in 7 with its own probability; 40% campaign follow-ups.
  await env.db.query(
    `INSERT INTO cases (id, case_type, definition_version, title, status, status_category, entity_id, entity_name,
       owner_id, data, created_at, updated_at, ended_at, version)
     SELECT 'bc-' || g, CASE WHEN x.opp THEN $2 ELSE $3 END, 1, 'Bench case ' || g, x.status,
            CASE WHEN x.status IN ('WON','QUALIFIED') THEN 'won' WHEN x.status IN ('LOST','DISCARDED') THEN 'lost' ELSE 'open' END,
            'be-' || (1 + g % ${ENTITIES}), 'Bench entity ' || (1 + g % ${ENTITIES}), ($1::text[])[1 + (g * 7) % ${AGENTS}],
            CASE WHEN x.opp THEN
              jsonb_build_object('subject', 'Bench', 'currency', 'EUR', 'amount', 1000 + (g * 37) % 99000,
                'expectedCloseDate', to_char(date '2030-01-01' + (g * 13) % 1095, 'YYYY-MM-DD'))
              || CASE WHEN g % 7 = 0 THEN jsonb_build_object('probability', (g % 10) * 10) ELSE '{}'::jsonb END
            ELSE jsonb_build_object('subject', 'Bench follow-up', 'campaignId', 'bench-old') END,
            now() - (g % 1000) * interval '1 hour', now(), NULL, 1
     FROM generate_series(1, ${CASES}) g
     CROSS JOIN LATERAL (SELECT g % 10 < 6 AS opp) o
     CROSS JOIN LATERAL (SELECT CASE WHEN o.opp THEN
         (ARRAY['IDENTIFYING','IDENTIFYING','IDENTIFYING','IDENTIFYING','PRESENTING','PRESENTING','PRESENTING',
                'DECIDING','DECIDING','POSTPONED','WON','WON','WON','WON','WON','LOST','LOST','LOST','LOST','LOST'])[1 + (g / 10) % 20]
       ELSE (ARRAY['TO_CONTACT','TO_CONTACT','TO_CONTACT','TO_CONTACT','TO_CONTACT','CALL_BACK','QUALIFIED','QUALIFIED',
                   'DISCARDED','DISCARDED'])[1 + (g / 10) % 10] END AS status, o.opp) x`,
    [agents, opportunity, followUp],
  );
  // Autovacuum would do this on its own; the index-only scans of the reports need the visibility map.
  await env.db.query('VACUUM ANALYZE entities');
  await env.db.query('VACUUM ANALYZE cases');
  return agents;
}

async function latency(env: TestEnv, user: TestUser, url: string, headers: Record<string, string> = {}) {
  const samples: number[] = [];
  let last: unknown;
  for (let i = 0; i < RUNS + 2; i++) {
    const started = performance.now();
    const res = await env.http(user, 'GET', url, undefined, headers);
    const elapsed = performance.now() - started;
    if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${JSON.stringify(res.body)}`);
    if (i >= 2) samples.push(elapsed);
    last = res.body;
  }
  return {
    p50: ms(percentile(samples, 50)),
    p95: ms(percentile(samples, 95)),
    p99: ms(percentile(samples, 99)),
    last,
  };
}

const crmBench: Bench = async (): Promise<BenchResult> => {
  const figures: BenchResult['figures'] = {};
  const notes: string[] = [];
  // The reports are rate-limited per caller (EXPENSIVE_RATE_LIMIT, 60 a minute by default); the bench calls
  // them 27 times per figure, so it lifts the limit as a deployment may.
  const env = await startTestEnv({ security: { ...DEFAULT_SECURITY, expensiveMax: 0 } });
  try {
    const opportunity = await env.publish(scoped(shippedDefinition('opportunity'), 'bench'));
    const followUp = await env.publish(scoped(shippedDefinition('campaign-follow-up'), 'bench'));
    let t = Date.now();
    const agents = await seed(env, opportunity, followUp);
    figures[`seed: ${count(ENTITIES)} entities + ${count(CASES)} cases (s)`] =
      Math.round((Date.now() - t) / 100) / 10;

    const admin = env.users.admin;
    const reports: [string, TestUser, string, Record<string, string>?][] = [
      [
        `forecast, all ${count(Math.ceil(CASES * 0.6))} opportunities`,
        admin,
        `/api/reports/forecast?caseType=${opportunity}`,
      ],
      [
        'forecast, one quarter',
        admin,
        `/api/reports/forecast?caseType=${opportunity}&from=2031-01&to=2031-03`,
      ],
      [
        'forecast, supervisor, one team, one year',
        env.users.sam,
        `/api/reports/forecast?caseType=${opportunity}&team=bench-sales&from=2031-01&to=2031-12`,
      ],
      ['forecast, one agent', admin, `/api/reports/forecast?caseType=${opportunity}&agent=${agents[0]}`],
      ['forecast, all types by default, CSV', admin, '/api/reports/forecast?format=csv'],
      ['open cases, default open statuses, all types', admin, '/api/reports/open-cases'],
      [
        'open cases, chosen statuses',
        admin,
        `/api/reports/open-cases?statuses=${opportunity}:IDENTIFYING,${opportunity}:PRESENTING`,
      ],
      ['open cases, supervisor scope', env.users.sam, '/api/reports/open-cases'],
    ];
    // Entity search ignores accents (crm_fold, migration 070): "gomez" finds "Gómez".
    const searches: [string, string][] = [
      ['entity search "gomez 4242" (accents ignored, selective)', 'gomez%20bench%20entity%204242'],
      ['entity search "GOMEZ" (accents ignored, 1 in 8 entities), first page', 'GOMEZ'],
      ['entity search "nunez bench entity 77" (a few hundred matches)', 'nunez%20bench%20entity%2077'],
      // The worst case of a substring search ordered by name: a word in 1 in 8 names whose first match comes after
      // the 7 in 8 names that sort before "Smith" (García ... Pérez), each checked on the way.
      ['entity search "smith" (1 in 8 entities, last in name order), first page', 'smith'],
    ];
    for (const [name, q] of searches) {
      const r = await latency(env, env.users.alice, `/api/entities?q=${q}`);
      figures[`${name}: p50 (ms)`] = r.p50;
      figures[`${name}: p99 (ms)`] = r.p99;
      const items = (r.last as { items: { name: string }[] }).items;
      notes.push(`${name}: ${items.length} entities on the first page, e.g. ${items[0]?.name ?? 'none'}`);
    }
    for (const [name, user, url, headers] of SKIP_REPORTS ? [] : reports) {
      const r = await latency(env, user, url, headers);
      figures[`${name}: p50 (ms)`] = r.p50;
      figures[`${name}: p99 (ms)`] = r.p99;
      const body = r.last as { totals?: { count: number; currency: string }[]; total?: number };
      if (body.totals)
        notes.push(
          `${name}: ${body.totals.map((t) => `${t.count} ${t.currency}`).join(', ')} cases aggregated`,
        );
      if (typeof body.total === 'number') notes.push(`${name}: ${body.total} cases counted`);
    }

    // Control: the same case workflows started straight from a Temporal client, without the campaign workflow,
    // 100 at a time. If this rate is no better than the campaign's, the campaign code is not what limits it.
    const stored = await latestDefinition(env.db, followUp);
    if (!stored) throw new Error('follow-up definition missing');
    t = Date.now();
    for (let i = 0; i < CONTROL; i += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, CONTROL - i) }, (_, k) => {
          const n = ENTITIES - i - k;
          return env.client.workflow.start(CASE_WORKFLOW_TYPE, {
            workflowId: `bench-direct-${n}`,
            taskQueue: env.taskQueue,
            args: [
              {
                definition: stored.definition,
                start: {
                  caseId: `bench-direct-${n}`,
                  caseType: followUp,
                  definitionVersion: stored.version,
                  data: { subject: 'Direct', campaignId: 'bench-direct' },
                  entity: { id: `be-${n}`, name: `Bench entity ${n}`, agentId: null },
                  ownerId: env.users.sam.id,
                },
              },
            ],
          });
        }),
      );
    }
    const controlStarted = Date.now() - t;
    for (;;) {
      const [row] = await env.db.query<{ n: number }>(
        `SELECT count(*) AS n FROM cases WHERE campaign_id = 'bench-direct'`,
      );
      if ((row?.n ?? 0) >= CONTROL || Date.now() - t > CAMPAIGN_TIMEOUT_MS) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const controlMs = Date.now() - t;
    figures[`control: ${CONTROL} case workflows started by the client, all started (s)`] =
      Math.round(controlStarted / 100) / 10;
    figures[`control: ${CONTROL} case workflows started by the client, all created (s)`] =
      Math.round(controlMs / 100) / 10;
    figures['control: cases per second'] = Math.round((CONTROL / (controlMs / 1000)) * 10) / 10;

    // Campaign: TARGETS entities from a CSV, started through the API, until every case is in the read model.
    const created = await env.http(env.users.sam, 'POST', '/api/campaigns', {
      name: 'Bench campaign',
      caseType: followUp,
      budget: 50000,
      batchSize: 500,
      ratePerSecond: 10000,
    });
    if (created.status !== 201) throw new Error(JSON.stringify(created.body));
    const campaignId = created.body.id as string;
    const csv = [
      'type,code',
      ...Array.from({ length: TARGETS }, (_, i) => `${['EN', 'CL', 'PR'][(i + 1) % 3]},BE${i + 1}`),
    ].join('\n');
    t = Date.now();
    const uploaded = await fetch(`${env.baseUrl}/api/campaigns/${campaignId}/targets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.users.sam.token}`, 'content-type': 'text/csv' },
      body: csv,
    });
    const added = (await uploaded.json()) as { added: number };
    figures[`campaign: upload ${TARGETS} targets as CSV (ms)`] = Date.now() - t;
    if (added.added !== TARGETS) throw new Error(`added ${JSON.stringify(added)}`);

    const handles = (globalThis as Record<string, unknown>)[TEST_ENV_KEY] as TestEnvHandles | undefined;
    const temporalPid = handles?.temporal?.pid;
    const pgPids = await postgresPids(env.db);
    const watched = [...(temporalPid ? [temporalPid] : []), ...pgPids];
    const cpu0 = { node: process.cpuUsage(), procs: cpuByPid(watched) };
    t = Date.now();
    const started = await env.http(env.users.sam, 'POST', `/api/campaigns/${campaignId}/start`, {});
    if (started.status !== 202) throw new Error(JSON.stringify(started.body));
    const marks: Record<string, number> = {};
    let allStartedAt: number | undefined;
    let progress = { started: 0, casesCreated: 0 };
    while (Date.now() - t < CAMPAIGN_TIMEOUT_MS) {
      const res = await env.http(env.users.sam, 'GET', `/api/campaigns/${campaignId}`);
      progress = res.body.progress;
      for (const n of [1000, 2500, 5000, 7500, TARGETS])
        if (progress.casesCreated >= n && marks[n] === undefined) marks[n] = Date.now() - t;
      if (progress.started >= TARGETS && allStartedAt === undefined) allStartedAt = Date.now() - t;
      if (progress.casesCreated >= TARGETS) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const wall = (Date.now() - t) / 1000;
    const node = process.cpuUsage(cpu0.node);
    const procs = cpuByPid([...watched, ...(await postgresPids(env.db))]);
    const cpu = {
      node: (node.user + node.system) / 1e6,
      temporal: temporalPid ? cpuDelta(cpu0.procs, cpuByPid([temporalPid])) : NaN,
      postgres: cpuDelta(cpu0.procs, new Map([...procs].filter(([pid]) => pid !== temporalPid))),
    };
    const [load1] = os.loadavg();
    notes.push(`load average at the end of the campaign: ${load1?.toFixed(1)} on ${os.cpus().length} cores`);
    figures[`campaign ${TARGETS}: cases created`] = progress.casesCreated;
    figures[`campaign ${TARGETS}: start to all cases created (s)`] =
      marks[TARGETS] !== undefined ? Math.round(marks[TARGETS] / 100) / 10 : `not reached in ${wall} s`;
    figures[`campaign ${TARGETS}: start to all targets started by the campaign workflow (s)`] =
      allStartedAt !== undefined ? Math.round(allStartedAt / 100) / 10 : 'not reached';
    for (const n of [1000, 2500, 5000, 7500])
      if (marks[n] !== undefined)
        figures[`campaign: ${n} cases created after (s)`] = Math.round(marks[n] / 100) / 10;
    figures['campaign: cases per second'] = Math.round((progress.casesCreated / wall) * 10) / 10;
    figures['campaign: CPU s, API + worker (node)'] = Math.round(cpu.node * 10) / 10;
    figures['campaign: CPU s, Temporal dev server'] = Math.round(cpu.temporal * 10) / 10;
    figures['campaign: CPU s, Postgres'] = Math.round(cpu.postgres * 10) / 10;
    figures['campaign: wall s x cores available'] = `${Math.round(wall * 10) / 10} x ${os.cpus().length}`;
    const [timing] = await env.db.query<{ first: string; last: string }>(
      `SELECT min(created_at) AS first, max(created_at) AS last FROM cases WHERE campaign_id = $1`,
      [campaignId],
    );
    if (timing) notes.push(`campaign cases created_at span: ${timing.first} .. ${timing.last}`);
    return {
      name: `CRM reports at ${count(CASES)} cases, ${count(ENTITIES)} entities and a ${TARGETS.toLocaleString('en')}-target campaign`,
      figures,
      notes,
    };
  } finally {
    await env.stop();
  }
};

export default crmBench;
