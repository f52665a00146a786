import type { Transporter } from 'nodemailer';
import type { Db } from '../db';
import { latestDefinition } from '../db/definitions';
import { pickAssignee } from './assignment';
import { sendEmail } from './email';
import { UnknownCaseTypeError } from './errors';
import { projectCase } from './projection';
import type { TemplateStore } from './templates';
import type { CaseActivities } from './types';

export interface ActivityDeps {
  db: Db;
  mailer: Transporter;
  templates: TemplateStore;
  mailFrom: string;
  publicUrl: string;
}

/** Builds the case activities with their dependencies injected (the worker owns pool and transport). */
export function createActivities(deps: ActivityDeps): CaseActivities {
  const messageIdDomain = new URL(deps.publicUrl).hostname || 'crm.local';
  const mail = {
    db: deps.db,
    transport: deps.mailer,
    templates: deps.templates,
    from: deps.mailFrom,
    publicUrl: deps.publicUrl,
    messageIdDomain,
  };
  return {
    projectCase: (input) => projectCase(deps.db, input),
    sendEmail: (input) => sendEmail(mail, input),
    resolveAssignee: ({ team, strategy }) => pickAssignee(deps.db, team, strategy),
    async latestDefinition(caseType) {
      const stored = await latestDefinition(deps.db, caseType);
      if (!stored) throw new UnknownCaseTypeError(`Case type "${caseType}" is not published`);
      return { definition: stored.definition, version: stored.version };
    },
  };
}
