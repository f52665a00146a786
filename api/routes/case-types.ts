import { Type } from '@sinclair/typebox';
import { Router } from 'express';
import { WorkflowNotFoundError } from '@temporalio/client';
import { runningCasesOfVersion, visitedSteps } from '../../cases/versions';
import {
  definitionVersion,
  latestDefinition,
  listDefinitionVersions,
  listLatestDefinitions,
} from '../../db/definitions';
import { formatIssues, type DefinitionIssue } from '../../designer/validate';
import { publishOneDefinition } from '../../lib/publish';
import { syncSchedules } from '../../lib/schedules';
import { logger } from '../../lib/logger';
import { casePlan, checkMigrationPlan, type MigrationPlan } from '../../engine/migration';
import type { CaseState } from '../../engine/state';
import { toHtml, toMermaid } from '../../designer/diagram';
import { allowSameOriginFraming } from '../security';
import { projectCase } from '../../activities/projection';
import { migrateUpdate, stateQuery } from '../../workflows/messages';
import { callerOf, requireRole } from '../auth';
import type { ApiContext } from '../context';
import { dateTime, problemResponses, type OperationSpec } from '../operation';
import { ProblemError } from '../problem';
import { check } from '../validation';
import { loadVisibleCase } from './cases';

const stepMap = (description: string) =>
  Type.Optional(
    Type.Unsafe<Record<string, string>>({
      type: 'object',
      additionalProperties: { type: 'string', minLength: 1, maxLength: 100 },
      maxProperties: 500,
      description,
    }),
  );

export const migrationSchema = Type.Object(
  {
    fromVersion: Type.Integer({ minimum: 1 }),
    toVersion: Type.Integer({ minimum: 1 }),
    steps: stepMap('Step id in fromVersion -> step id in toVersion (default: same id)'),
    statuses: stepMap('Status code in fromVersion -> status code in toVersion (default: same)'),
    dryRun: Type.Optional(
      Type.Boolean({ default: true, description: 'Only report what would move (default)' }),
    ),
  },
  { additionalProperties: false },
);

const diagramQuery = Type.Object(
  {
    caseId: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: 'A case of this type (visible to the caller) whose steps are highlighted',
      }),
    ),
    version: Type.Optional(
      Type.String({
        pattern: '^[0-9]{1,6}$',
        description: 'Published version to draw (default: the case version, else the latest)',
      }),
    ),
    format: Type.Optional(
      Type.Unsafe<'html' | 'mermaid' | 'svg'>({
        enum: ['html', 'mermaid', 'svg'],
        description: 'Default: from the Accept header',
      }),
    ),
  },
  { additionalProperties: false },
);

/** A definition sent to be validated and published at run time. */
export const publishCaseTypeSchema = Type.Object(
  {
    definition: Type.Unsafe<Record<string, unknown>>({
      type: 'object',
      description:
        'The case-type definition, as a file in definitions/ holds it (definitions/case-type.schema.json)',
    }),
    file: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9._-]{1,120}$',
        description: 'File name the errors are reported against, as the CLI does (default: <id>.json)',
      }),
    ),
    dryRun: Type.Optional(Type.Boolean({ description: 'Only validate; publish nothing (default false)' })),
  },
  { additionalProperties: false },
);

const located = {
  type: 'object',
  properties: {
    file: { type: 'string' },
    pointer: { type: 'string', description: 'RFC 6901 pointer into the definition' },
    message: { type: 'string' },
    hint: { type: 'string' },
    severity: { enum: ['error', 'warning'] },
  },
  required: ['file', 'pointer', 'message', 'severity'],
};

/** Running cases of one version that a migration would consider. */
const MAX_MIGRATION_BATCH = 1000;

const statusSchema = {
  type: 'object',
  properties: {
    code: { type: 'string' },
    name: { type: 'string' },
    category: { enum: ['open', 'won', 'lost', 'closed'] },
    probability: { type: 'number', description: 'Default close probability in percent, for the forecast' },
    manual: { type: 'boolean', description: 'A user may set this status by hand' },
  },
  required: ['code', 'name', 'category'],
};

const stepPairs = {
  type: 'array',
  items: {
    type: 'object',
    properties: { from: { type: 'string' }, to: { type: 'string' } },
    required: ['from', 'to'],
  },
};

const migrationResultSchema = {
  type: 'object',
  properties: {
    dryRun: { type: 'boolean' },
    plan: {
      type: 'object',
      properties: {
        caseType: { type: 'string' },
        fromVersion: { type: 'integer' },
        toVersion: { type: 'integer' },
        steps: { type: 'object', additionalProperties: { type: 'string' } },
        statuses: { type: 'object', additionalProperties: { type: 'string' } },
      },
      required: ['caseType', 'fromVersion', 'toVersion'],
    },
    summary: {
      type: 'object',
      properties: {
        considered: { type: 'integer' },
        wouldMove: { type: 'integer' },
        moved: { type: 'integer' },
        blocked: { type: 'integer' },
        failed: { type: 'integer' },
      },
      required: ['considered', 'wouldMove', 'moved', 'blocked', 'failed'],
    },
    cases: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          caseId: { type: 'string' },
          result: { enum: ['would-move', 'moved', 'blocked', 'failed'] },
          status: {
            type: 'object',
            properties: { from: { type: 'string' }, to: { type: 'string' } },
            required: ['from', 'to'],
          },
          steps: stepPairs,
          problems: {
            type: 'array',
            items: { type: 'string' },
            description: 'Why the case cannot move (result blocked)',
          },
          error: { type: 'string', description: 'Why the move failed (result failed)' },
        },
        required: ['caseId', 'result', 'status', 'steps', 'problems'],
      },
    },
  },
  required: ['dryRun', 'plan', 'summary', 'cases'],
};

/** The case-type routes, for the OpenAPI document. */
export const caseTypeOperations: OperationSpec[] = [
  {
    method: 'get',
    path: '/api/case-types',
    operationId: 'listCaseTypes',
    tag: 'Case types',
    summary: 'Every published case type at its latest version, with its statuses',
    responses: {
      '200': {
        description: 'The case types',
        schema: {
          type: 'object',
          properties: {
            items: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  id: { type: 'string' },
                  name: { type: 'string' },
                  version: { type: 'integer', description: 'Latest published version number' },
                  label: { type: 'string', description: "The definition's own version label" },
                  publishedAt: dateTime,
                  statuses: { type: 'array', items: statusSchema },
                },
                required: ['id', 'name', 'version', 'label', 'publishedAt', 'statuses'],
              },
            },
          },
          required: ['items'],
        },
      },
      ...problemResponses(401),
    },
  },
  {
    method: 'post',
    path: '/api/case-types',
    operationId: 'publishCaseType',
    tag: 'Case types',
    summary:
      'Validates a definition and publishes it as a new version, without a restart (designers, administrators)',
    description:
      'The checks of `npm run definitions -- validate` (language version, schema, meaning, templates, soundness) ' +
      'plus the users and teams of the directory. Errors answer 400 `invalid-definition`: each entry of `errors` ' +
      'has the pointer into the request (`/body/definition/...`) and the located error as the CLI prints it ' +
      '(`file`, `definitionPointer`, `message`, `hint`). New cases use the published version at once; running ' +
      'cases keep the version they started with. The same content again is `created: false`.',
    body: publishCaseTypeSchema,
    responses: {
      '201': {
        description: 'A new version was published',
        schema: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            version: { type: ['integer', 'null'], description: 'Null on a dry run' },
            created: { type: 'boolean' },
            dryRun: { type: 'boolean' },
            warnings: { type: 'array', items: located },
          },
          required: ['id', 'version', 'created', 'dryRun', 'warnings'],
        },
      },
      '200': {
        description: 'Valid, and unchanged or a dry run (same shape as 201)',
        schema: { type: 'object' },
      },
      ...problemResponses(400, 401, 403),
    },
    problems: ['invalid-definition'],
  },
  {
    method: 'get',
    path: '/api/case-types/:id/statuses',
    operationId: 'listCaseTypeStatuses',
    tag: 'Case types',
    summary: "The statuses of a case type's latest version, in pipeline order",
    description:
      'Pipeline order is the order the definition lists its statuses (the forecast and open-cases reports use it too); `position` counts from 1.',
    params: { id: 'Case type id, e.g. opportunity' },
    responses: {
      '200': {
        description: 'The statuses',
        schema: {
          type: 'object',
          properties: {
            caseType: { type: 'string' },
            version: { type: 'integer' },
            initialStatus: { type: 'string' },
            items: {
              type: 'array',
              items: {
                ...statusSchema,
                properties: { position: { type: 'integer' }, ...statusSchema.properties },
                required: ['position', ...statusSchema.required],
              },
            },
          },
          required: ['caseType', 'version', 'initialStatus', 'items'],
        },
      },
      ...problemResponses(401, 404),
    },
  },
  {
    method: 'get',
    path: '/api/case-types/:id',
    operationId: 'getCaseType',
    tag: 'Case types',
    summary: 'The latest definition of a case type and the list of its published versions',
    params: { id: 'Case type id, e.g. opportunity' },
    responses: {
      '200': {
        description: 'The case type',
        schema: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            version: { type: 'integer' },
            definition: {
              type: 'object',
              description: 'The definition as published (definitions/case-type.schema.json)',
            },
            versions: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  version: { type: 'integer' },
                  label: { type: 'string' },
                  hash: { type: 'string', description: 'Hash of the definition content' },
                  publishedAt: dateTime,
                },
                required: ['version', 'label', 'hash', 'publishedAt'],
              },
            },
          },
          required: ['id', 'version', 'definition', 'versions'],
        },
      },
      ...problemResponses(401, 404),
    },
  },
  {
    method: 'get',
    path: '/api/case-types/:id/diagram',
    operationId: 'getCaseTypeDiagram',
    tag: 'Case types',
    summary:
      "A case type's process as a diagram; with caseId, that case's current and visited steps highlighted",
    description:
      'HTML page by default; Mermaid source as text/plain with `format=mermaid` or when `Accept` prefers text/plain ' +
      '(`format=svg` answers the same HTML page, whose picture is an inline SVG). Without `version`, the version of the case (with `caseId`) ' +
      'or the latest one is drawn.',
    params: { id: 'Case type id' },
    query: diagramQuery,
    responses: {
      '200': {
        description: 'The diagram: an HTML page, or Mermaid source (text/plain)',
        contentType: 'text/html',
        schema: { type: 'string' },
      },
      ...problemResponses(400, 401, 404),
    },
  },
  {
    method: 'post',
    path: '/api/case-types/:id/migrations',
    operationId: 'migrateCaseType',
    tag: 'Case types',
    summary:
      'Migrates the running cases of one version of a case type to a later one, or reports what would move (designers and administrators)',
    description:
      '`dryRun` defaults to true: nothing changes, each case is reported as would-move or blocked. With `dryRun: false` ' +
      `each movable case is migrated through its case workflow, one after the other (a slow call for many cases). At most ` +
      `${MAX_MIGRATION_BATCH} running cases of \`fromVersion\` (oldest first) are considered per call: repeat the call ` +
      'for the rest. `steps` and `statuses` map codes of fromVersion to codes of toVersion; unmapped codes keep their name.',
    params: { id: 'Case type id' },
    body: migrationSchema,
    responses: {
      '200': { description: 'The plan and the outcome for each case', schema: migrationResultSchema },
      ...problemResponses(400, 401, 403),
    },
  },
];

export function caseTypeRoutes(ctx: ApiContext): Router {
  const router = Router();

  router.get('/case-types', async (req, res) => {
    callerOf(req);
    const latest = await listLatestDefinitions(ctx.db);
    res.json({
      items: latest.map((d) => ({
        id: d.caseType,
        name: d.definition.name,
        version: d.version,
        label: d.label,
        publishedAt: d.publishedAt,
        statuses: d.definition.statuses,
      })),
    });
  });

  router.post('/case-types', async (req, res) => {
    const caller = requireRole(req, 'designer', 'admin');
    const body = check(publishCaseTypeSchema, req.body ?? {}, '/body');
    const id = typeof body.definition.id === 'string' ? body.definition.id : undefined;
    const file = body.file ?? `${id ?? 'definition'}.json`;
    const { issues, publication } = await publishOneDefinition(ctx.db, body.definition, {
      file,
      definitionsDir: ctx.definitionsDir,
      dryRun: body.dryRun === true,
    });
    const errors = issues.filter((i) => i.severity === 'error');
    const warnings = issues.filter((i) => i.severity === 'warning').map(locatedView);
    if (errors.length > 0) {
      throw new ProblemError(400, 'invalid-definition', 'The definition is not valid', formatIssues(errors), {
        errors: errors.map((e) => ({
          pointer: `/body/definition${e.pointer}`,
          message: e.message,
          file: e.file,
          definitionPointer: e.pointer,
          ...(e.hint === undefined ? {} : { hint: e.hint }),
        })),
        warnings,
      });
    }
    if (publication?.created) {
      logger.info(
        { caseType: publication.stored.caseType, version: publication.stored.version, by: caller.userId },
        'case type published through the API',
      );
      // Calendar email rules follow the latest versions, as at start-up.
      await syncSchedules(
        ctx.client,
        (await listLatestDefinitions(ctx.db)).map((d) => d.definition),
        ctx.taskQueue,
      );
    }
    res.status(publication?.created ? 201 : 200).json({
      id: id as string,
      version: publication?.stored.version ?? null,
      created: publication?.created ?? false,
      dryRun: body.dryRun === true,
      warnings,
    });
  });

  router.get('/case-types/:id', async (req, res) => {
    callerOf(req);
    const latest = await latestDefinition(ctx.db, req.params.id);
    if (!latest) throw ProblemError.notFound(`Case type ${req.params.id}`);
    const versions = await listDefinitionVersions(ctx.db, req.params.id);
    res.json({ id: latest.caseType, version: latest.version, definition: latest.definition, versions });
  });

  /** The statuses of the latest version in pipeline order: the order the definition lists them. */
  router.get('/case-types/:id/statuses', async (req, res) => {
    callerOf(req);
    const latest = await latestDefinition(ctx.db, req.params.id);
    if (!latest) throw ProblemError.notFound(`Case type ${req.params.id}`);
    res.json({
      caseType: latest.caseType,
      version: latest.version,
      initialStatus: latest.definition.initialStatus,
      items: latest.definition.statuses.map((s, i) => ({ position: i + 1, ...s })),
    });
  });

  /** The definition as a picture; with `caseId`, the case's current steps are highlighted. */
  router.get('/case-types/:id/diagram', async (req, res) => {
    const caller = callerOf(req);
    const query = check(diagramQuery, { ...req.query }, '/query');
    let version = query.version === undefined ? undefined : Number(query.version);
    let highlight: { currentSteps: string[]; visited?: string[] } | undefined;
    if (query.caseId !== undefined) {
      const row = await loadVisibleCase(ctx, caller, query.caseId);
      if (row.case_type !== req.params.id)
        throw ProblemError.notFound(`Case ${query.caseId} of type ${req.params.id}`);
      version ??= row.definition_version as number;
      const visited = await visitedSteps(ctx.db, row.id as string);
      highlight = { currentSteps: row.current_steps as string[], visited };
    }
    const stored =
      version === undefined
        ? await latestDefinition(ctx.db, req.params.id)
        : await definitionVersion(ctx.db, req.params.id, version);
    if (!stored)
      throw ProblemError.notFound(
        `Case type ${req.params.id}${version === undefined ? '' : ` version ${version}`}`,
      );
    const format =
      query.format ?? (req.accepts(['text/html', 'text/plain']) === 'text/plain' ? 'mermaid' : 'html');
    if (format === 'mermaid') res.type('text/plain').send(toMermaid(stored.definition, highlight));
    else {
      // The web app's case page shows it in an iframe.
      allowSameOriginFraming(res);
      res.type('text/html').send(toHtml(stored.definition, highlight));
    }
  });

  /**
   * Migrates running cases from one version to a later one. Dry-run (the default) reports what would
   * move and what cannot; `dryRun: false` applies it case by case through each case workflow.
   */
  router.post('/case-types/:id/migrations', async (req, res) => {
    const caller = requireRole(req, 'designer', 'admin');
    const body = check(migrationSchema, req.body ?? {}, '/body');
    const [from, to] = await Promise.all([
      definitionVersion(ctx.db, req.params.id, body.fromVersion),
      definitionVersion(ctx.db, req.params.id, body.toVersion),
    ]);
    if (!from || !to) {
      throw ProblemError.badRequest('Unknown version', [
        {
          pointer: from ? '/body/toVersion' : '/body/fromVersion',
          message: `is not a published version of ${req.params.id}`,
        },
      ]);
    }
    const plan: MigrationPlan = {
      caseType: req.params.id,
      fromVersion: body.fromVersion,
      toVersion: body.toVersion,
    };
    if (body.steps) plan.steps = body.steps;
    if (body.statuses) plan.statuses = body.statuses;
    const planProblems = checkMigrationPlan(plan, from.definition, to.definition);
    if (planProblems.length > 0) {
      throw ProblemError.badRequest(
        'The migration plan is not valid',
        planProblems.map((p) => ({ pointer: `/body${p.pointer}`, message: p.message })),
      );
    }
    const running = await runningCasesOfVersion(ctx.db, req.params.id, body.fromVersion, MAX_MIGRATION_BATCH);
    const dryRun = body.dryRun !== false;
    const cases: { caseId: string; result: string; problems: string[]; [key: string]: unknown }[] = [];
    for (const id of running) {
      const handle = ctx.client.workflow.getHandle(id);
      let state: CaseState;
      try {
        state = await handle.query(stateQuery);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) continue;
        throw err;
      }
      const move = casePlan(plan, to.definition, state);
      let result: 'would-move' | 'moved' | 'blocked' | 'failed' =
        move.problems.length > 0 ? 'blocked' : 'would-move';
      let error: string | undefined;
      if (!dryRun && result === 'would-move') {
        try {
          const migrated = await handle.executeUpdate(migrateUpdate, {
            args: [{ plan, definition: to.definition, actor: caller.userId }],
            updateId: `migrate-${plan.fromVersion}-${plan.toVersion}`,
          });
          // The committed result's read-model write (docs/projection.md).
          if (migrated.projection) await projectCase(ctx.db, migrated.projection);
          result = 'moved';
        } catch (err) {
          result = 'failed';
          error =
            (err as Error).cause instanceof Error
              ? ((err as Error).cause as Error).message
              : (err as Error).message;
        }
      }
      cases.push({
        caseId: id,
        result,
        status: move.status,
        steps: move.steps,
        problems: move.problems,
        ...(error ? { error } : {}),
      });
    }
    const count = (r: string) => cases.filter((c) => c.result === r).length;
    res.json({
      dryRun,
      plan,
      summary: {
        considered: cases.length,
        wouldMove: count('would-move'),
        moved: count('moved'),
        blocked: count('blocked'),
        failed: count('failed'),
      },
      cases,
    });
  });

  return router;
}

/** A definition issue as the API shows it: the CLI's file, pointer, message and hint. */
function locatedView(i: DefinitionIssue) {
  return {
    file: i.file,
    pointer: i.pointer,
    message: i.message,
    ...(i.hint === undefined ? {} : { hint: i.hint }),
    severity: i.severity,
  };
}
