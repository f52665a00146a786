import path from 'node:path';
import { Context } from '@temporalio/activity';
import type { Transporter } from 'nodemailer';
import type { Db } from '../db';
import type { Config } from '../lib/config';
import { latestDefinition } from '../db/definitions';
import { missingFromDirectory } from '../db/directory';
import { valueErrors } from '../lib/json-validation';
import { pickAssignee } from './assignment';
import { messageIdDomainFor, type MailHooks } from './email';
import { createEmailActivities, type EmailActivities } from './email-activities';
import { UnknownCaseTypeError } from './errors';
import { projectCase } from './projection';
import { callService, type ServiceSettings } from './service';
import { TemplateStore } from './templates';
import type { CaseActivities } from './types';
import { createCampaignActivities } from './campaign';
import type { CampaignActivities } from './campaign-types';
import { createImportActivities } from './imports';
import type { ImportActivities } from './import-types';

export interface ActivityDeps {
  db: Db;
  mailer: Transporter;
  templates: TemplateStore;
  mailFrom: string;
  publicUrl: string;
  /** Test seams around SMTP acceptance (fault tests only). */
  mailHooks?: MailHooks;
  /** Where service steps may call; none when absent. */
  services?: ServiceSettings;
}

/** The activity dependencies a worker process builds from the configuration. */
export function activityDeps(config: Config, db: Db, mailer: Transporter): ActivityDeps {
  return {
    db,
    mailer,
    templates: new TemplateStore(path.join(config.definitionsDir, 'templates')),
    mailFrom: config.mailFrom,
    publicUrl: config.publicUrl,
    services: { allowlist: config.serviceAllowlist, secrets: config.serviceSecrets, timeoutMs: 10_000 },
  };
}

/**
 * Identifies the activity being run, the same on every retry: its workflow run and activity id (a
 * continue-as-new starts a new run, whose activity ids start again).
 */
function attemptKey(): string | undefined {
  const { workflowExecution, activityId } = Context.current().info;
  return workflowExecution && `${workflowExecution.workflowId}/${workflowExecution.runId}/${activityId}`;
}

/** Builds the case activities with their dependencies injected (the worker owns pool and transport). */
export function createActivities(
  deps: ActivityDeps,
): CaseActivities & CampaignActivities & ImportActivities & EmailActivities {
  const messageIdDomain = messageIdDomainFor(deps.publicUrl);
  const mail = {
    db: deps.db,
    transport: deps.mailer,
    templates: deps.templates,
    from: deps.mailFrom,
    publicUrl: deps.publicUrl,
    messageIdDomain,
    ...(deps.mailHooks ? { hooks: deps.mailHooks } : {}),
  };
  return {
    ...createCampaignActivities(deps.db),
    ...createImportActivities(deps.db),
    projectCase: (input) => projectCase(deps.db, input),
    ...createEmailActivities(mail),
    callService: (input) =>
      callService(deps.services ?? { allowlist: [], secrets: {}, timeoutMs: 10_000 }, input),
    resolveAssignee: ({ team, strategy, exclude }) =>
      pickAssignee(deps.db, team, strategy, attemptKey(), exclude ?? []),
    async checkDirectory(refs) {
      const ids = (prefix: string) =>
        refs.filter((r) => r.startsWith(prefix)).map((r) => r.slice(prefix.length));
      const missing = await missingFromDirectory(deps.db, ids('user:'), ids('team:'));
      return [...missing.users.map((u) => `user:${u}`), ...missing.teams.map((t) => `team:${t}`)];
    },
    async latestDefinition(caseType, data) {
      const stored = await latestDefinition(deps.db, caseType);
      if (!stored) throw new UnknownCaseTypeError(`Case type "${caseType}" is not published`);
      const published = { definition: stored.definition, version: stored.version };
      if (data === undefined) return published;
      // The check POST /api/cases makes of a new case's data.
      const fields = stored.definition.fields;
      return { ...published, dataErrors: fields ? valueErrors(fields, data) : [] };
    },
  };
}
