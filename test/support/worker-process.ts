/** A case worker in its own process, so a test can kill it with SIGKILL. Prints "ready" once polling. */
import path from 'node:path';
import { createActivities } from '../../activities';
import { TemplateStore } from '../../activities/templates';
import { createDb } from '../../db';
import { createMailer } from '../../lib/mailer';
import { createWorker } from '../../worker';

async function main(): Promise<void> {
  const env = (name: string): string => {
    const v = process.env[name];
    if (!v) throw new Error(`${name} is required`);
    return v;
  };
  const db = createDb(env('TEST_DATABASE_URL'));
  const activities = createActivities({
    db,
    mailer: createMailer(`smtp://127.0.0.1:${env('SMTP_PORT')}`),
    templates: new TemplateStore(path.resolve(__dirname, '../../definitions/templates')),
    mailFrom: 'CRM <crm@example.com>',
    publicUrl: 'http://localhost:3000',
    // CRASH_AT=afterAccepted|afterRecorded: die (SIGKILL, no clean-up) at that point of the first send.
    ...(process.env.CRASH_AT
      ? { mailHooks: { [process.env.CRASH_AT]: () => void process.kill(process.pid, 'SIGKILL') } }
      : {}),
  });
  const { worker } = await createWorker({
    address: env('TEST_TEMPORAL_ADDRESS'),
    namespace: 'default',
    taskQueue: env('TASK_QUEUE'),
    activities,
    workflowBundle: { codePath: env('WORKFLOW_BUNDLE') },
  });
  const running = worker.run();
  // Never outlive the test that started us (it may die without killing us).
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL');
  }, 500).unref();
  process.stdout.write('ready\n');
  await running;
}

void main();
