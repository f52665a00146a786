import {
  loadCaseContext,
  sampleCaseContext,
  sampleDigestContext,
  type LoadedCaseContext,
} from '../activities/email-context';
import { TemplateStore, type RenderedEmail } from '../activities/templates';
import type { Queryable } from '../db';
import type { CaseTypeDefinition } from '../engine/types';

export type TemplateUse = 'case' | 'agent-digest' | 'pipeline-summary';

export interface PreviewOptions {
  templatesDir: string;
  template: string;
  /** Definitions to find the template's use in (its case type gives sample data its shape). */
  definitions?: CaseTypeDefinition[];
  /** Recipient locale; default en. */
  locale?: string;
  /** A real case to render with (needs `db`); otherwise sample data. */
  caseId?: string;
  /** The task of that case the email is about; default its most recent task. */
  taskId?: string;
  db?: Queryable;
  publicUrl?: string;
  /** A TemplateStore to reuse (the API keeps one); default a fresh one over `templatesDir`. */
  store?: TemplateStore;
}

export interface TemplatePreview extends RenderedEmail {
  template: string;
  /** Where the data came from. */
  data: 'sample' | 'case';
  use: TemplateUse;
  caseType: string | null;
  caseId: string | null;
}

export class PreviewError extends Error {
  override name = 'PreviewError';
  constructor(
    message: string,
    readonly code: 'CASE_NOT_FOUND' | 'NEEDS_DATABASE',
  ) {
    super(message);
  }
}

/** The first definition that references `template`, and how (case email or which digest). */
export function findTemplateUse(
  definitions: CaseTypeDefinition[],
  template: string,
): { definition: CaseTypeDefinition; use: TemplateUse } | undefined {
  for (const definition of definitions) {
    const scheduled = (definition.scheduledEmails ?? []).find((s) => s.template === template);
    if (scheduled) return { definition, use: scheduled.kind };
    if ((definition.emailRules ?? []).some((r) => r.template === template))
      return { definition, use: 'case' };
    for (const step of Object.values(definition.steps ?? {})) {
      if (
        step.type === 'automatic' &&
        (step.do ?? []).some((a) => 'email' in a && a.email.template === template)
      )
        return { definition, use: 'case' };
      if (step.type === 'human' && (step.escalations ?? []).some((e) => e.notify?.template === template))
        return { definition, use: 'case' };
    }
  }
  return undefined;
}

async function caseData(opts: PreviewOptions, publicUrl: string): Promise<LoadedCaseContext> {
  if (!opts.db) throw new PreviewError('Previewing with a real case needs the database', 'NEEDS_DATABASE');
  const caseId = opts.caseId as string;
  let taskId = opts.taskId;
  if (taskId === undefined) {
    const [latest] = await opts.db.query<{ id: string }>(
      'SELECT id FROM tasks WHERE case_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1',
      [caseId],
    );
    taskId = latest?.id;
  }
  const loaded = await loadCaseContext(opts.db, caseId, taskId, publicUrl);
  if (!loaded) throw new PreviewError(`Case ${caseId} was not found`, 'CASE_NOT_FOUND');
  return loaded;
}

/**
 * Renders a template as a recipient would receive it: with a real case (`caseId` and `db`) or with sample
 * data shaped by the case type that uses it. Throws TemplateError when the template is missing or broken.
 * Used by `npm run definitions -- preview <template> [--case id]` and `GET /api/templates/:name/preview`.
 */
export async function previewTemplate(opts: PreviewOptions): Promise<TemplatePreview> {
  const publicUrl = opts.publicUrl ?? 'http://localhost:3000';
  const locale = opts.locale ?? 'en';
  const found = findTemplateUse(opts.definitions ?? [], opts.template);
  let use: TemplateUse = found?.use ?? 'case';
  let definition = found?.definition;
  let context: Record<string, unknown>;
  if (opts.caseId !== undefined) {
    const loaded = await caseData(opts, publicUrl);
    context = loaded.context;
    definition = loaded.definition ?? definition;
    use = 'case';
  } else {
    context =
      use === 'case'
        ? sampleCaseContext(definition, publicUrl)
        : sampleDigestContext(use, definition, publicUrl);
  }
  const store = opts.store ?? new TemplateStore(opts.templatesDir);
  const rendered = store.render(
    opts.template,
    {
      ...context,
      recipient: { name: 'Sample Recipient', email: 'recipient@example.com', locale },
      unsubscribe: { url: `${publicUrl}/unsubscribe/preview` },
      now: new Date().toISOString(),
      timezone: 'UTC',
    },
    locale,
  );
  return {
    ...rendered,
    template: opts.template,
    data: opts.caseId !== undefined ? 'case' : 'sample',
    use,
    caseType: definition?.id ?? null,
    caseId: opts.caseId ?? null,
  };
}
