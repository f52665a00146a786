/**
 * The web app in headless Chromium (Debian's /usr/bin/chromium) against the API of a test environment:
 * - the JavaScript the inbox route loads (index.html's module script and its preloads), gzipped;
 * - navigation to 50 inbox rows visible (performance.now() in the page when the 50th row is in the DOM);
 * - a claim tap to the row showing "Mine", and the claim call's own time from Resource Timing, so the
 *   app's overhead over the API is measured, not guessed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from '@playwright/test';
import { ensureWebBuild, WEB_DIR } from '../scripts/web-build';
import { scoped, shippedDefinition, startTestEnv } from '../test/support/env';
import { inBatches } from '../test/support/matrix';
import type { BenchResult } from './run';
import { ms, percentile } from './stats';

const ROWS = 50;

/** Resolves with performance.now() once ROWS inbox rows are in the page. */
const VISIBLE_SCRIPT = `new Promise((resolve, reject) => {
  const check = () => {
    const n = document.querySelectorAll('[data-testid=inbox-row]').length;
    if (n >= ROWS) resolve(performance.now());
    else if (performance.now() > 20000) reject(new Error(n + ' rows after 20 s: ' + location.href));
    else setTimeout(check, 5);
  };
  check();
})`;

/** Taps the first Claim button and resolves when its row says Mine, with the claim call's own duration. */
const CLAIM_SCRIPT = `new Promise((resolve, reject) => {
  const row = [...document.querySelectorAll('[data-testid=inbox-row]')].find((r) =>
    r.querySelector('.row-actions .button.primary'),
  );
  if (!row) return reject(new Error('no claimable row'));
  const id = row.dataset.taskId;
  performance.clearResourceTimings();
  const started = performance.now();
  row.querySelector('.row-actions .button.primary').click();
  const check = () => {
    const now = document.querySelector('[data-task-id="' + id + '"] [data-testid=assignee]');
    if (now && now.textContent === 'Mine') {
      const total = performance.now() - started;
      const call = performance.getEntriesByType('resource').find((e) => e.name.endsWith('/api/tasks/' + id + '/claim'));
      resolve({ total, api: call ? call.responseEnd - call.startTime : NaN });
    } else if (performance.now() - started > 20000) reject(new Error('row ' + id + ' not mine after 20 s'));
    else setTimeout(check, 1);
  };
  check();
})`;
const NAVIGATIONS = 20;
const CLAIMS = 30;

/** The inbox route's scripts: the entry module and the chunks index.html preloads (lazy screens excluded). */
function inboxScripts(): { files: string[]; gzipBytes: number; rawBytes: number } {
  const dist = path.join(WEB_DIR, 'dist');
  const html = fs.readFileSync(path.join(dist, 'index.html'), 'utf8');
  const files = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.js)"/g)].map((m) => m[1] as string);
  let gzipBytes = 0;
  let rawBytes = 0;
  for (const file of files) {
    const body = fs.readFileSync(path.join(dist, file));
    rawBytes += body.length;
    gzipBytes += gzipSync(body, { level: 6 }).length;
  }
  return { files, gzipBytes, rawBytes };
}

export default async function webBench(): Promise<BenchResult> {
  ensureWebBuild(() => undefined);
  const bundle = inboxScripts();
  const env = await startTestEnv({ worker: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
  try {
    const caseType = await env.publish(scoped(shippedDefinition('opportunity'), env.prefix));
    const agent = {
      id: `${env.prefix}-webbench`,
      email: `webbench.${env.prefix}@example.com`,
      password: 'bench-password-1',
    };
    const created = await env.http(env.users.admin, 'POST', '/api/users', {
      id: agent.id,
      name: 'Web Bench',
      email: agent.email,
      role: 'agent',
      password: agent.password,
    });
    if (created.status !== 201)
      throw new Error(`create user: ${created.status} ${JSON.stringify(created.body)}`);
    await env.http(env.users.admin, 'PUT', `/api/teams/${env.prefix}-sales/members/${agent.id}`);
    const cases = [...Array(ROWS + CLAIMS).keys()];
    await inBatches(cases, 8, async (i) => {
      const r = await env.http(env.users.admin, 'POST', '/api/cases', {
        caseType,
        entityId: `${env.prefix}-acme`,
        data: { subject: `Bench ${i}`, amount: 1000 + i },
      });
      if (r.status !== 201) throw new Error(`start case: ${r.status} ${JSON.stringify(r.body)}`);
    });

    console.log(`web bench: ${cases.length} cases started`);
    const context = await browser.newContext({
      baseURL: env.baseUrl,
      viewport: { width: 1440, height: 900 },
    });
    const page = await context.newPage();
    await page.goto('/');
    await page.getByLabel('Email').fill(agent.email);
    await page.getByLabel('Password').fill(agent.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page
      .getByTestId('inbox-row')
      .nth(ROWS - 1)
      .waitFor({ timeout: 60_000 });

    // In-page code is passed as text: this file compiles without the DOM library.
    const visible = async (): Promise<number> =>
      page.evaluate<number>(VISIBLE_SCRIPT.replace('ROWS', String(ROWS)));
    console.log('web bench: signed in, timing navigations');
    const navigations: number[] = [];
    for (let i = 0; i < NAVIGATIONS; i++) {
      await page.goto('/?sort=created', { waitUntil: 'commit' });
      navigations.push(await visible());
    }

    const claims: { total: number; api: number }[] = [];
    // The inbox scope keeps a claimed row (mine); in "claimable" the stream's refetch could drop it first.
    await page.goto('/?sort=created');
    await visible();
    for (let i = 0; i < CLAIMS; i++) {
      claims.push(await page.evaluate<{ total: number; api: number }>(CLAIM_SCRIPT));
    }
    const totals = claims.map((c) => c.total);
    const apis = claims.map((c) => c.api);
    const overheads = claims.map((c) => c.total - c.api);
    return {
      name: 'web',
      figures: {
        'inbox route JS gzipped (KB)': Math.round((bundle.gzipBytes / 1024) * 10) / 10,
        'inbox route JS raw (KB)': Math.round((bundle.rawBytes / 1024) * 10) / 10,
        [`navigation to ${ROWS} rows visible p50`]: ms(percentile(navigations, 50)),
        [`navigation to ${ROWS} rows visible p95`]: ms(percentile(navigations, 95)),
        'claim tap to row showing mine p50': ms(percentile(totals, 50)),
        'claim tap to row showing mine p95': ms(percentile(totals, 95)),
        'claim API call (resource timing) p95': ms(percentile(apis, 95)),
        'claim overhead over the API p50': ms(percentile(overheads, 50)),
        'claim overhead over the API p95': ms(percentile(overheads, 95)),
      },
      notes: [
        `scripts counted: ${bundle.files.join(', ')}`,
        `${NAVIGATIONS} navigations (service worker and HTTP cache warm, as for an agent's second visit), ${CLAIMS} claims`,
      ],
    };
  } finally {
    await browser.close();
    // A failed run must show its own error, not the teardown's.
    await env
      .stop()
      .catch((err: unknown) => console.error('web bench: stopping the environment failed', err));
  }
}
