/**
 * Flowable's inbox data, seeded the way bench/inbox.bench.ts seeds ours (the same users, teams as groups,
 * memberships, and open tasks with the same assignees, candidate teams, priorities and due dates), straight
 * into Flowable's tables. Only the open tasks are written: Flowable moves finished tasks out of
 * `act_ru_task` into history, which the inbox query never reads. Seeded tasks belong to no process instance.
 */
import type { Db } from '../../db';
import { seedSql, TASKS_PER_CASE, TEAMS, USERS } from '../inbox.bench';

/** Seeds users, groups, memberships and the open tasks of `cases` cases; returns the phases' ms. */
export async function seedFlowableInbox(db: Db, cases: number): Promise<Record<string, number>> {
  const timings: Record<string, number> = {};
  const time = async (name: string, sql: string) => {
    const started = performance.now();
    await db.query(sql);
    timings[name] = Math.round(performance.now() - started);
  };
  const { company, h, team, member, state } = seedSql;
  const indexes = await db.query<{ indexname: string; indexdef: string }>(
    `SELECT indexname, indexdef FROM pg_indexes
     WHERE tablename IN ('act_ru_task', 'act_ru_identitylink') AND indexname NOT LIKE '%pkey'`,
  );
  for (const index of indexes) await db.query(`DROP INDEX ${index.indexname}`);
  await time(
    'users',
    `INSERT INTO act_id_user (id_, rev_, first_, last_, email_)
     SELECT 'bu-' || i, 1, 'User', i::text, 'user' || i || '@bench.example.com' FROM generate_series(1, ${USERS}) i;
     INSERT INTO act_id_group (id_, rev_, name_, type_)
     SELECT 'bt-' || j, 1, 'Team ' || j, 'assignment' FROM generate_series(1, ${TEAMS}) j;
     INSERT INTO act_id_membership (user_id_, group_id_)
     SELECT 'bu-' || i, 'bt-' || ((i - 1) / 20 + 1) FROM generate_series(1, ${USERS}) i WHERE i % 20 <> 1
     UNION ALL
     SELECT 'bu-' || i, 'bt-' || (((i - 1) / 20 + 250) % ${TEAMS} + 1) FROM generate_series(1, ${USERS}) i WHERE i % 10 = 0`,
  );
  const open = `FROM (SELECT i, (i - 1) / ${TASKS_PER_CASE} + 1 AS k, ${state} AS state
                     FROM generate_series(1, ${cases * TASKS_PER_CASE}) i) s WHERE state = 'open'`;
  await time(
    'tasks',
    `INSERT INTO act_ru_task (id_, rev_, name_, task_def_key_, assignee_, priority_, create_time_, due_date_,
       suspension_state_, tenant_id_, is_count_enabled_, var_count_, id_link_count_, sub_task_count_)
     SELECT 'bk-' || i, 1,
       (ARRAY['Call','Visit','Email','Send documents to','Present to'])[i % 5 + 1] || ' ' || ${company},
       'step' || (i % 4),
       CASE WHEN ${h(2)} < 600 THEN ${member} END,
       (ARRAY[25, 50, 50, 50, 75, 100])[${h(4)} % 6 + 1],
       now() - (${h(10)} % 365) * interval '1 day',
       CASE WHEN ${h(5)} < 100 THEN NULL ELSE now() + ((${h(6)} % 40) - 10) * interval '1 day' + ${h(7)} * interval '86 seconds' END,
       1, '', false, 0, 1, 0
     ${open}`,
  );
  await time(
    'candidate links',
    `INSERT INTO act_ru_identitylink (id_, rev_, group_id_, type_, task_id_)
     SELECT 'bl-' || i, 1, 'bt-' || ${team}, 'candidate', 'bk-' || i ${open}`,
  );
  await db.query(`SET maintenance_work_mem = '512MB'`);
  const started = performance.now();
  for (const index of indexes) await db.query(index.indexdef);
  timings.indexes = Math.round(performance.now() - started);
  await time('vacuum analyze', 'VACUUM ANALYZE act_ru_task');
  await time('vacuum analyze links', 'VACUUM ANALYZE act_ru_identitylink');
  await db.query('ANALYZE act_id_user; ANALYZE act_id_group; ANALYZE act_id_membership');
  // As for ours: the load's dirty pages written now, the tasks, links and their indexes in shared buffers.
  await time('checkpoint', 'CHECKPOINT');
  await db.query('CREATE EXTENSION IF NOT EXISTS pg_prewarm');
  await time(
    'prewarm',
    `SELECT pg_prewarm(c.oid::regclass) FROM pg_class c
     WHERE c.relname IN ('act_ru_task', 'act_ru_identitylink')
        OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid::regclass::text IN ('act_ru_task', 'act_ru_identitylink'))`,
  );
  return timings;
}
