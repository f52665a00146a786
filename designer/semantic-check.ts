import fs from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import { checkCondition, escapePointer } from '../engine/conditions';
import { parseDuration } from '../engine/duration';
import { BUILTIN_ACTION_TYPES } from '../engine/types';
import { issue, suggest, type DefinitionIssue } from './issues';
import { valueErrors, type ValueError } from '../lib/json-validation';
import { newAjv } from './schema-check';

/**
 * Checks that need the whole definition: references, reachability, termination, templates, conditions.
 * Runs even when the schema found problems, so it reads the document defensively (any value may have
 * any shape) and skips what it cannot interpret; schema errors already cover those places.
 */

type Obj = Record<string, unknown>;

export interface SemanticOptions {
  templatesDir: string;
  knownCaseTypes?: string[];
  /** Definitions of the known case types, to check a sub-case's data against its type's fields. */
  caseTypes?: ReadonlyMap<string, { fields?: unknown }>;
  /**
   * Whether the document passed the JSON Schema. The graph checks (reachability, termination, loops) only
   * run on a well-formed document: on a broken one they would restate the schema errors as noise.
   */
  wellFormed?: boolean;
  /**
   * Pointers of the schema's problems. On a document that is not well-formed the reachability warning still
   * runs when none of them (and nothing else) breaks a link between steps: a designer sees an unreachable
   * step beside an unrelated error.
   */
  schemaProblems?: readonly string[];
}

interface StepInfo {
  id: string;
  pointer: string;
  type: string | undefined;
  raw: Obj;
}

interface TransitionInfo {
  pointer: string;
  raw: Obj;
}

interface Ctx {
  file: string;
  def: Obj;
  opts: SemanticOptions;
  out: DefinitionIssue[];
  steps: Map<string, StepInfo>;
  statuses: string[];
  /** Top-level case fields when `fields` closes the set (additionalProperties: false); otherwise undefined. */
  closedFields: string[] | undefined;
}

/** Roots of the context that conditions, templates and field references can read (`evalContext`). */
const CONTEXT_ROOTS = ['data', 'lines', 'status', 'entity', 'case'];
/** Extra roots available to conditions of transitions. */
const CONDITION_ROOTS = [...CONTEXT_ROOTS, 'outcome', 'form', 'subcase'];
/** Operations whose later arguments are evaluated against each item, not the case. */
const ITEM_SCOPED_OPERATIONS = new Set(['map', 'filter', 'reduce', 'all', 'none', 'some']);
const TEMPLATE_FILE = /^(subject|text|html)(\.[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*)?\.hbs$/;
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

function isObj(value: unknown): value is Obj {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function ptr(base: string, ...tokens: (string | number)[]): string {
  return base + tokens.map((t) => `/${escapePointer(String(t))}`).join('');
}

function error(ctx: Ctx, pointer: string, message: string, hint?: string): void {
  ctx.out.push(issue(ctx.file, pointer, message, hint, 'error'));
}

function warn(ctx: Ctx, pointer: string, message: string, hint?: string): void {
  ctx.out.push(issue(ctx.file, pointer, message, hint, 'warning'));
}

// ---------------------------------------------------------------------------------------------
// Reading the document

function transitionsAt(value: unknown, pointer: string): TransitionInfo[] {
  if (isObj(value)) return [{ pointer, raw: value }];
  return list(value).flatMap((t, i) => (isObj(t) ? [{ pointer: ptr(pointer, i), raw: t }] : []));
}

/** Every transition group of a step: one entry per outcome (or `then`), each a list tried in order. */
function transitionGroups(step: StepInfo): { pointer: string; transitions: TransitionInfo[] }[] {
  const groups: { pointer: string; transitions: TransitionInfo[] }[] = [];
  const add = (value: unknown, pointer: string): void => {
    if (value !== undefined) groups.push({ pointer, transitions: transitionsAt(value, pointer) });
  };
  if (isObj(step.raw.outcomes)) {
    for (const [outcome, value] of Object.entries(step.raw.outcomes)) {
      add(value, ptr(step.pointer, 'outcomes', outcome));
    }
  }
  if (step.type !== 'human' && step.type !== 'parallel') add(step.raw.then, ptr(step.pointer, 'then'));
  list(step.raw.boundary).forEach((event, i) => {
    if (isObj(event)) add(event.then, ptr(step.pointer, 'boundary', i, 'then'));
  });
  if (step.type === 'service') add(step.raw.onFailure, ptr(step.pointer, 'onFailure'));
  return groups;
}

function allTransitions(ctx: Ctx): TransitionInfo[] {
  const found: TransitionInfo[] = [];
  for (const step of ctx.steps.values()) {
    for (const group of transitionGroups(step)) found.push(...group.transitions);
  }
  list(ctx.def.timers).forEach((timer, i) => {
    if (isObj(timer) && isObj(timer.then))
      found.push({ pointer: ptr('', 'timers', i, 'then'), raw: timer.then });
  });
  return found;
}

/** The steps a transition enters, each with the steps the same transition cancels. */
function nextRefs(t: TransitionInfo): { id: string; pointer: string; cancels?: string[] }[] {
  const next = t.raw.next;
  const cancels = list(t.raw.cancel).filter((c): c is string => typeof c === 'string');
  const extra = cancels.length > 0 ? { cancels } : {};
  if (typeof next === 'string') return [{ id: next, pointer: ptr(t.pointer, 'next'), ...extra }];
  return list(next).flatMap((id, i) =>
    typeof id === 'string' ? [{ id, pointer: ptr(t.pointer, 'next', i), ...extra }] : [],
  );
}

function stringsAt(value: unknown, pointer: string): { id: string; pointer: string }[] {
  if (typeof value === 'string') return [{ id: value, pointer }];
  return list(value).flatMap((id, i) => (typeof id === 'string' ? [{ id, pointer: ptr(pointer, i) }] : []));
}

function successors(step: StepInfo): string[] {
  const next = transitionGroups(step).flatMap((g) =>
    g.transitions.flatMap((t) => nextRefs(t).map((r) => r.id)),
  );
  if (step.type === 'parallel') next.push(...stringsAt(step.raw.branches, '').map((r) => r.id));
  return next;
}

/** Email actions of steps (automatic emails, escalation notices) with their pointers. */
function stepEmails(ctx: Ctx): { pointer: string; raw: Obj }[] {
  const found: { pointer: string; raw: Obj }[] = [];
  for (const step of ctx.steps.values()) {
    list(step.raw.do).forEach((action, i) => {
      if (isObj(action) && isObj(action.email)) {
        found.push({ pointer: ptr(step.pointer, 'do', i, 'email'), raw: action.email });
      }
    });
    list(step.raw.escalations).forEach((escalation, i) => {
      if (isObj(escalation) && isObj(escalation.notify)) {
        found.push({ pointer: ptr(step.pointer, 'escalations', i, 'notify'), raw: escalation.notify });
      }
    });
  }
  return found;
}

// ---------------------------------------------------------------------------------------------
// References and duplicates

function checkDuplicates(ctx: Ctx, listKey: string, idKey: string, noun: string): void {
  const seen = new Map<string, number>();
  list(ctx.def[listKey]).forEach((item, i) => {
    const id = isObj(item) ? item[idKey] : undefined;
    if (typeof id !== 'string') return;
    const first = seen.get(id);
    if (first === undefined) seen.set(id, i);
    else {
      error(
        ctx,
        ptr('', listKey, i, idKey),
        `duplicate ${noun} "${id}" (already used at /${listKey}/${first})`,
        `each ${noun} must be unique; rename or remove one of them`,
      );
    }
  });
}

function checkStatusRef(ctx: Ctx, code: unknown, pointer: string): void {
  if (typeof code !== 'string' || ctx.statuses.includes(code)) return;
  error(ctx, pointer, `unknown status "${code}"`, suggest(code, ctx.statuses, 'status', 'statuses'));
}

function checkStepRef(ctx: Ctx, id: string, pointer: string): boolean {
  if (ctx.steps.has(id)) return true;
  error(ctx, pointer, `unknown step "${id}"`, suggest(id, [...ctx.steps.keys()], 'step'));
  return false;
}

/** The business key names a string or integer field the case type declares: messages correlate by its value. */
function checkBusinessKey(ctx: Ctx): void {
  const key = ctx.def.businessKey;
  if (typeof key !== 'string') return;
  const fields = isObj(ctx.def.fields) && isObj(ctx.def.fields.properties) ? ctx.def.fields.properties : {};
  const field = Object.hasOwn(fields, key) ? fields[key] : undefined;
  if (!isObj(field)) {
    error(
      ctx,
      '/businessKey',
      `the business key "${key}" is not a field of the case type`,
      Object.keys(fields).length > 0
        ? suggest(key, Object.keys(fields), 'field')
        : `declare it: "fields": {"type": "object", "properties": {"${key}": {"type": "string"}}}`,
    );
    return;
  }
  const types = Array.isArray(field.type) ? field.type : [field.type];
  if (
    !types.every((t) => t === 'string' || t === 'integer' || t === 'null') ||
    !types.some((t) => t !== 'null')
  )
    error(
      ctx,
      '/businessKey',
      `the business key "${key}" must be a string or integer field (it is ${JSON.stringify(field.type ?? 'untyped')})`,
      `give "fields/properties/${key}" "type": "string" or "integer"`,
    );
}

/** Wait steps and boundary events name declared messages. */
function checkMessages(ctx: Ctx): void {
  const declared = list(ctx.def.messages).flatMap((m) =>
    isObj(m) && typeof m.name === 'string' ? [m.name] : [],
  );
  const refer = (name: unknown, pointer: string): void => {
    if (typeof name !== 'string' || declared.includes(name)) return;
    error(
      ctx,
      pointer,
      `unknown message "${name}"`,
      declared.length > 0
        ? suggest(name, declared, 'message')
        : `declare it: "messages": [{"name": "${name}"}] (add "buffer": true to keep one that arrives early)`,
    );
  };
  for (const step of ctx.steps.values()) {
    refer(step.raw.message, ptr(step.pointer, 'message'));
    list(step.raw.boundary).forEach((event, i) => {
      if (isObj(event)) refer(event.message, ptr(step.pointer, 'boundary', i, 'message'));
    });
  }
}

function checkReferences(ctx: Ctx): void {
  checkStatusRef(ctx, ctx.def.initialStatus, '/initialStatus');
  for (const ref of stringsAt(ctx.def.start, '/start')) checkStepRef(ctx, ref.id, ref.pointer);
  for (const t of allTransitions(ctx)) {
    checkStatusRef(ctx, t.raw.status, ptr(t.pointer, 'status'));
    for (const ref of nextRefs(t)) checkStepRef(ctx, ref.id, ref.pointer);
    for (const ref of stringsAt(t.raw.cancel, ptr(t.pointer, 'cancel')))
      checkStepRef(ctx, ref.id, ref.pointer);
  }
  for (const step of ctx.steps.values()) {
    list(step.raw.do).forEach((action, i) => {
      if (isObj(action)) checkStatusRef(ctx, action.setStatus, ptr(step.pointer, 'do', i, 'setStatus'));
    });
    if (step.type === 'parallel') {
      for (const ref of stringsAt(step.raw.branches, ptr(step.pointer, 'branches'))) {
        checkStepRef(ctx, ref.id, ref.pointer);
      }
      const branchIds = stringsAt(step.raw.branches, '').map((r) => r.id);
      if (isObj(step.raw.conditions)) {
        for (const [branch, condition] of Object.entries(step.raw.conditions)) {
          const at = ptr(step.pointer, 'conditions', branch);
          if (!branchIds.includes(branch)) {
            error(
              ctx,
              at,
              `"${branch}" is not a branch of "${step.id}"`,
              suggest(branch, branchIds, 'branch'),
            );
            continue;
          }
          const problems = checkCondition(condition, at);
          for (const p of problems) {
            error(
              ctx,
              p.pointer,
              `condition does not parse: ${p.message}`,
              'conditions are JSON Logic; see definitions/README.md#conditions',
            );
          }
          if (problems.length === 0) checkConditionVars(ctx, condition, at);
        }
      }
      if (typeof step.raw.join === 'string') checkStepRef(ctx, step.raw.join, ptr(step.pointer, 'join'));
    }
  }
  list(ctx.def.timers).forEach((timer, i) => {
    if (isObj(timer)) checkStatusRef(ctx, timer.inStatus, ptr('', 'timers', i, 'inStatus'));
  });
  list(ctx.def.emailRules).forEach((rule, i) => {
    if (!isObj(rule) || !isObj(rule.on)) return;
    const on = rule.on;
    const at = ptr('', 'emailRules', i, 'on');
    checkStatusRef(ctx, on.statusEntered, ptr(at, 'statusEntered'));
    checkStatusRef(ctx, on.statusLeft, ptr(at, 'statusLeft'));
    for (const key of ['taskCreated', 'taskAssigned', 'taskCompleted', 'taskOverdue', 'step']) {
      const ref = on[key];
      if (typeof ref !== 'string' || ref === '*' || ref === 'adhoc') continue;
      if (!checkStepRef(ctx, ref, ptr(at, key))) continue;
      const target = ctx.steps.get(ref);
      if (target && target.type !== 'human') {
        warn(
          ctx,
          ptr(at, key),
          `step "${ref}" is a ${String(target.type)} step: it creates no task, so this rule never fires`,
          'task events name a human step, "adhoc" (tasks added by a supervisor) or "*"',
        );
      }
    }
  });
}

function checkActionTypes(ctx: Ctx): void {
  const declared = list(ctx.def.actionTypes).flatMap((a) =>
    isObj(a) && typeof a.code === 'string' ? [a.code] : [],
  );
  const builtin = BUILTIN_ACTION_TYPES.map((a) => a.code);
  list(ctx.def.actionTypes).forEach((a, i) => {
    if (isObj(a) && typeof a.code === 'string' && builtin.includes(a.code)) {
      warn(
        ctx,
        ptr('', 'actionTypes', i, 'code'),
        `action type "${a.code}" is built in; this declaration replaces its name and fields`,
        'choose another code for a company-defined action type',
      );
    }
  });
  const known = [...builtin, ...declared];
  for (const step of ctx.steps.values()) {
    const action = step.raw.action;
    if (step.type !== 'human' || typeof action !== 'string' || known.includes(action)) continue;
    error(
      ctx,
      ptr(step.pointer, 'action'),
      `unknown action type "${action}"`,
      `${suggest(action, known, 'action type')}; declare company-defined types in "actionTypes"`,
    );
  }
}

function checkSubcases(ctx: Ctx): void {
  for (const step of ctx.steps.values()) {
    if (step.type !== 'subcase') continue;
    const caseType = step.raw.caseType;
    const known = ctx.opts.knownCaseTypes;
    if (known && typeof caseType === 'string' && !known.includes(caseType)) {
      error(
        ctx,
        ptr(step.pointer, 'caseType'),
        `unknown case type "${caseType}"`,
        suggest(caseType, known, 'case type'),
      );
    }
    const child = typeof caseType === 'string' ? ctx.opts.caseTypes?.get(caseType) : undefined;
    if (child && isObj(child.fields)) checkSubcaseData(ctx, step, caseType as string, child.fields);
    const outcomes = isObj(step.raw.outcomes) ? Object.keys(step.raw.outcomes) : [];
    const wait = step.raw.wait === true;
    for (const outcome of outcomes) {
      if (wait ? outcome === 'started' : outcome !== 'started') {
        warn(
          ctx,
          ptr(step.pointer, 'outcomes', outcome),
          wait
            ? 'outcome "started" is never used when the step waits for the sub-case'
            : `outcome "${outcome}" is only used when the step waits for the sub-case`,
          wait ? 'use won, lost, closed or then' : 'add "wait": true, or use "started" / then',
        );
      }
    }
  }
}

/**
 * A sub-case's literal data against the child type's `fields`, with the validation `POST /api/cases` uses:
 * what would be refused there is an error here. Values copied with `{"var": ...}` are known only at run
 * time (the engine checks them then), so only their names are checked.
 */
function checkSubcaseData(ctx: Ctx, step: StepInfo, caseType: string, fields: Obj): void {
  const data = isObj(step.raw.data) ? step.raw.data : {};
  const copied = new Set(Object.keys(data).filter((k) => isObj(data[k]) && 'var' in (data[k] as Obj)));
  // A copied value stands as null: its name is checked, the errors about its value are dropped below.
  const literal = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, copied.has(k) ? null : v]));
  let errors: ValueError[];
  try {
    errors = valueErrors(fields, literal);
  } catch {
    return; // The child's own validation reports a schema that does not compile.
  }
  const base = ptr(step.pointer, 'data');
  for (const e of errors) {
    const key = e.pointer.split('/')[1];
    // A copied value may well fit; a missing property is fine when it is copied.
    if (key !== undefined && copied.has(key) && e.message !== 'is not an allowed property') continue;
    error(
      ctx,
      key !== undefined && key in data ? base + e.pointer : base,
      e.message === 'is required'
        ? `the sub-case's data has no "${key ?? ''}", which case type "${caseType}" requires`
        : `the sub-case's data does not fit case type "${caseType}": ${e.pointer.slice(1) || 'data'} ${e.message}`,
      `the child case would be refused, as POST /api/cases refuses it; see the "fields" of "${caseType}"`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Field paths, conditions, text templates, durations

function checkDataPath(ctx: Ctx, dataPath: string, pointer: string, roots: string[]): void {
  const [root, field] = dataPath.split('.');
  if (root === undefined || root === '') return;
  if (!roots.includes(root)) {
    const asField = ctx.closedFields?.includes(root) ?? false;
    warn(
      ctx,
      pointer,
      `"${dataPath}" is not in the case context`,
      asField || ctx.closedFields === undefined
        ? `case fields are under data: "data.${dataPath}"; available: ${roots.join(', ')}`
        : `available: ${roots.join(', ')}`,
    );
    return;
  }
  if (root === 'data' && field !== undefined && ctx.closedFields && !ctx.closedFields.includes(field)) {
    warn(
      ctx,
      pointer,
      `"${field}" is not a field of this case type`,
      suggest(field, ctx.closedFields, 'field'),
    );
  }
}

function checkConditionVars(ctx: Ctx, node: unknown, pointer: string): void {
  if (Array.isArray(node)) {
    node.forEach((item, i) => checkConditionVars(ctx, item, ptr(pointer, i)));
    return;
  }
  if (!isObj(node)) return;
  for (const [op, args] of Object.entries(node)) {
    const at = ptr(pointer, op);
    if (op === 'var') {
      const target = Array.isArray(args) ? args[0] : args;
      if (typeof target === 'string' && target !== '') checkDataPath(ctx, target, at, CONDITION_ROOTS);
    } else if (ITEM_SCOPED_OPERATIONS.has(op) && Array.isArray(args)) {
      checkConditionVars(ctx, args[0], ptr(at, 0));
    } else {
      checkConditionVars(ctx, args, at);
    }
  }
}

function checkTransitions(ctx: Ctx): void {
  for (const t of allTransitions(ctx)) {
    if ('if' in t.raw) {
      const problems = checkCondition(t.raw.if, ptr(t.pointer, 'if'));
      for (const p of problems) {
        error(
          ctx,
          p.pointer,
          `condition does not parse: ${p.message}`,
          'conditions are JSON Logic, e.g. {">=": [{"var": "data.amount"}, 1000]}; see definitions/README.md#conditions',
        );
      }
      if (problems.length === 0) checkConditionVars(ctx, t.raw.if, ptr(t.pointer, 'if'));
    }
    if (t.raw.end === true && t.raw.next !== undefined) {
      error(
        ctx,
        ptr(t.pointer, 'next'),
        '"next" is never followed because "end" is true',
        'remove "next", or remove "end" to continue the case',
      );
    }
    if (isObj(t.raw.set)) {
      for (const key of Object.keys(t.raw.set))
        checkDataPath(ctx, `data.${key}`, ptr(t.pointer, 'set', key), ['data']);
    }
  }
  for (const step of ctx.steps.values()) {
    for (const group of transitionGroups(step)) {
      const conditional = group.transitions.filter((t) => 'if' in t.raw);
      const firstPlain = group.transitions.findIndex((t) => !('if' in t.raw));
      if (group.transitions.length > 0 && conditional.length === group.transitions.length) {
        warn(
          ctx,
          group.pointer,
          'when no condition holds, the case stops following this path here',
          'add a last transition without "if" as the default',
        );
      } else if (firstPlain !== -1 && firstPlain < group.transitions.length - 1) {
        warn(
          ctx,
          group.transitions[firstPlain + 1]?.pointer ?? group.pointer,
          'this transition is never taken: an earlier one has no "if" and always matches',
          'move the transition without "if" to the end of the list',
        );
      }
    }
    list(step.raw.do).forEach((action, i) => {
      if (isObj(action) && isObj(action.setField) && typeof action.setField.path === 'string') {
        checkDataPath(ctx, `data.${action.setField.path}`, ptr(step.pointer, 'do', i, 'setField', 'path'), [
          'data',
        ]);
      }
    });
  }
}

function checkTextTemplate(ctx: Ctx, text: unknown, pointer: string, roots = CONTEXT_ROOTS): void {
  if (typeof text !== 'string') return;
  for (const match of text.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)) {
    const inner = match[1] ?? '';
    if (!/^[\w.-]+$/.test(inner)) {
      warn(
        ctx,
        pointer,
        `"{{${inner}}}" is not a plain placeholder and will appear as written`,
        'titles and descriptions support {{path}} only (no helpers or blocks), e.g. {{data.subject}}',
      );
    } else {
      checkDataPath(ctx, inner, pointer, roots);
    }
  }
}

function checkTexts(ctx: Ctx): void {
  checkTextTemplate(ctx, ctx.def.title, '/title');
  for (const step of ctx.steps.values()) {
    if (step.type !== 'human') continue;
    // A multi-instance step's texts and assignment also read its item and position.
    const roots = isObj(step.raw.forEach) ? [...CONTEXT_ROOTS, 'item', 'index'] : CONTEXT_ROOTS;
    checkTextTemplate(ctx, step.raw.title, ptr(step.pointer, 'title'), roots);
    checkTextTemplate(ctx, step.raw.description, ptr(step.pointer, 'description'), roots);
    const assign = step.raw.assign;
    if (isObj(assign) && typeof assign.field === 'string') {
      checkDataPath(ctx, assign.field, ptr(step.pointer, 'assign', 'field'), roots);
    }
    const humanSteps = [...ctx.steps.values()].filter((x) => x.type === 'human').map((x) => x.id);
    const stepNamed = (id: unknown, pointer: string): void => {
      if (typeof id === 'string' && !humanSteps.includes(id))
        error(
          ctx,
          pointer,
          `"${id}" is not a human step of this case type`,
          suggest(id, humanSteps, 'human step'),
        );
    };
    if (isObj(assign)) stepNamed(assign.performerOf, ptr(step.pointer, 'assign', 'performerOf'));
    list(step.raw.separateFrom).forEach((id, i) => stepNamed(id, ptr(step.pointer, 'separateFrom', i)));
    if (isObj(step.raw.forEach)) {
      const forEach = step.raw.forEach;
      if (typeof forEach.items === 'string')
        checkDataPath(ctx, forEach.items, ptr(step.pointer, 'forEach', 'items'), CONTEXT_ROOTS);
      const outcomes = isObj(step.raw.outcomes) ? Object.keys(step.raw.outcomes) : [];
      if (typeof forEach.emptyOutcome === 'string' && !outcomes.includes(forEach.emptyOutcome)) {
        error(
          ctx,
          ptr(step.pointer, 'forEach', 'emptyOutcome'),
          `"${forEach.emptyOutcome}" is not an outcome of "${step.id}"`,
          suggest(forEach.emptyOutcome, outcomes, 'outcome'),
        );
      }
    }
  }
  if (ctx.closedFields) {
    list(ctx.def.editableFields).forEach((name, i) => {
      if (typeof name !== 'string' || name === '*' || name === 'lines' || ctx.closedFields?.includes(name))
        return;
      warn(
        ctx,
        ptr('', 'editableFields', i),
        `"${name}" is not a field of this case type`,
        suggest(name, ctx.closedFields ?? [], 'field'),
      );
    });
  }
}

function checkDuration(ctx: Ctx, value: unknown, pointer: string, signed: boolean): void {
  if (typeof value !== 'string') return;
  const parsed = parseDuration(value);
  if (!parsed) {
    error(
      ctx,
      pointer,
      `"${value}" is not an ISO 8601 duration`,
      'e.g. P3D (3 days), PT4H (4 hours), P1M (1 month), P1DT12H; time parts go after T',
    );
  } else if (parsed.sign < 0 && !signed) {
    error(ctx, pointer, `"${value}" is negative`, 'only the offset of a date field may be negative');
  }
}

function checkDateSpec(ctx: Ctx, value: unknown, pointer: string): void {
  if (typeof value === 'string') checkDuration(ctx, value, pointer, false);
  else if (isObj(value)) {
    checkDuration(ctx, value.offset, ptr(pointer, 'offset'), true);
    if (typeof value.field === 'string')
      checkDataPath(ctx, value.field, ptr(pointer, 'field'), CONTEXT_ROOTS);
  }
}

function checkDurations(ctx: Ctx): void {
  for (const step of ctx.steps.values()) {
    checkDateSpec(ctx, step.raw.due, ptr(step.pointer, 'due'));
    checkDateSpec(ctx, step.raw.followUp, ptr(step.pointer, 'followUp'));
    if (step.type === 'wait') checkDateSpec(ctx, step.raw.until, ptr(step.pointer, 'until'));
    list(step.raw.escalations).forEach((e, i) => {
      if (isObj(e)) checkDuration(ctx, e.after, ptr(step.pointer, 'escalations', i, 'after'), false);
    });
  }
  list(ctx.def.timers).forEach((timer, i) => {
    if (isObj(timer)) checkDuration(ctx, timer.after, ptr('', 'timers', i, 'after'), false);
  });
  list(ctx.def.emailRules).forEach((rule, i) => {
    if (!isObj(rule)) return;
    checkDuration(ctx, rule.delay, ptr('', 'emailRules', i, 'delay'), false);
    if (isObj(rule.on))
      checkDuration(ctx, rule.on.beforeDue, ptr('', 'emailRules', i, 'on', 'beforeDue'), false);
  });
}

// ---------------------------------------------------------------------------------------------
// Email rules, templates and embedded JSON Schemas

function checkEmailRules(ctx: Ctx): void {
  list(ctx.def.emailRules).forEach((rule, i) => {
    if (!isObj(rule) || !isObj(rule.on)) return;
    const at = ptr('', 'emailRules', i);
    if (rule.ifStillInStatus === true && rule.delay === undefined) {
      warn(ctx, ptr(at, 'ifStillInStatus'), '"ifStillInStatus" has no effect without "delay"', 'add a delay');
    }
    const taskEvent = Object.keys(rule.on).some((k) => k.startsWith('task') || k === 'beforeDue');
    if (!taskEvent) {
      for (const key of ['to', 'cc', 'bcc']) {
        stringsAt(rule[key], ptr(at, key)).forEach((r) => {
          if (r.id === 'assignee' || r.id === 'candidates') {
            warn(
              ctx,
              r.pointer,
              `"${r.id}" is empty for a case event: there is no task`,
              'use owner, supervisor, contact:..., user:<id> or an address; assignee/candidates fit task events',
            );
          }
        });
      }
    }
    const step = typeof rule.on.step === 'string' ? ctx.steps.get(rule.on.step) : undefined;
    if (rule.on.beforeDue !== undefined && step?.type === 'human' && step.raw.due === undefined) {
      warn(
        ctx,
        ptr(at, 'on', 'step'),
        `step "${step.id}" has no due date, so this reminder never fires`,
        `add "due" to step "${step.id}"`,
      );
    }
  });
}

interface TemplateCheck {
  missing?: { message: string; hint: string };
  problems: { message: string; hint: string; severity: 'error' | 'warning' }[];
}

function partialNames(node: unknown, found: Set<string>, inline: Set<string>): void {
  if (Array.isArray(node)) {
    for (const item of node) partialNames(item, found, inline);
    return;
  }
  if (!isObj(node)) return;
  const name = isObj(node.name) ? node.name : undefined;
  if ((node.type === 'PartialStatement' || node.type === 'PartialBlockStatement') && name) {
    if (name.type === 'PathExpression' && typeof name.original === 'string') found.add(name.original);
    if (name.type === 'StringLiteral' && typeof name.value === 'string') found.add(name.value);
  }
  if (node.type === 'DecoratorBlock' && isObj(node.path) && node.path.original === 'inline') {
    const first = list(node.params)[0];
    if (isObj(first) && typeof first.value === 'string') inline.add(first.value);
  }
  for (const [key, value] of Object.entries(node)) if (key !== 'loc') partialNames(value, found, inline);
}

/** Handlebars parse errors span several lines (excerpt, caret); fold them into one. */
function compileMessage(e: unknown): string {
  const lines = (e instanceof Error ? e.message : String(e)).split('\n');
  const [first = '', excerpt, , ...rest] = lines;
  if (lines.length < 4) return lines.join(' ');
  return `${first.replace(/:$/, '')} (near "${(excerpt ?? '').trim()}"): ${rest.join(' ')}`;
}

type CompiledTemplate = { error: string } | { partials: string[] };

/** Compiling is slow (milliseconds per file), so results are kept by file content. */
const templateResults = new Map<string, CompiledTemplate>();

/** Compiles a template's text; returns the compile error, or the partials it uses. */
function compileTemplate(text: string): CompiledTemplate {
  const known = templateResults.get(text);
  if (known) return known;
  let result: CompiledTemplate;
  try {
    Handlebars.precompile(text);
    const partials = new Set<string>();
    const inline = new Set<string>();
    partialNames(Handlebars.parse(text), partials, inline);
    result = { partials: [...partials].filter((p) => !inline.has(p) && p !== '@partial-block') };
  } catch (e) {
    result = { error: compileMessage(e) };
  }
  if (templateResults.size > 500) templateResults.clear();
  templateResults.set(text, result);
  return result;
}

function inspectTemplate(templatesDir: string, name: string): TemplateCheck {
  const folder = path.join(templatesDir, name);
  let files: string[];
  try {
    files = fs.readdirSync(folder);
  } catch {
    return {
      missing: {
        message: `template "${name}" does not exist`,
        hint: `create the folder ${folder} with subject.hbs and text.hbs and/or html.hbs`,
      },
      problems: [],
    };
  }
  const hbs = files.filter((f) => f.endsWith('.hbs')).sort();
  if (!hbs.includes('subject.hbs') || !(hbs.includes('text.hbs') || hbs.includes('html.hbs'))) {
    const lacking = [
      ...(hbs.includes('subject.hbs') ? [] : ['subject.hbs']),
      ...(hbs.includes('text.hbs') || hbs.includes('html.hbs') ? [] : ['text.hbs or html.hbs']),
    ];
    return {
      missing: {
        message: `template "${name}" is incomplete: ${lacking.join(' and ')} missing`,
        hint: `a template folder holds subject.hbs and at least one of text.hbs, html.hbs (${folder})`,
      },
      problems: [],
    };
  }
  const problems: TemplateCheck['problems'] = [];
  for (const file of hbs) {
    if (!TEMPLATE_FILE.test(file)) {
      problems.push({
        message: `template "${name}" has a file the engine ignores: ${file}`,
        hint: 'files are subject.hbs, text.hbs, html.hbs, or a locale variant such as html.es.hbs',
        severity: 'warning',
      });
      continue;
    }
    let compiled: CompiledTemplate;
    try {
      compiled = compileTemplate(fs.readFileSync(path.join(folder, file), 'utf8'));
    } catch (e) {
      problems.push({
        message: `template "${name}/${file}" cannot be read: ${e instanceof Error ? e.message : String(e)}`,
        hint: 'check the file permissions',
        severity: 'error',
      });
      continue;
    }
    if ('error' in compiled) {
      problems.push({
        message: `template "${name}/${file}" does not compile: ${compiled.error}`,
        hint: 'check that every {{#block}} has its {{/block}} and braces are balanced',
        severity: 'error',
      });
      continue;
    }
    const { partials } = compiled;
    for (const partial of partials) {
      if (!fs.existsSync(path.join(templatesDir, '_partials', `${partial}.hbs`))) {
        problems.push({
          message: `template "${name}/${file}" uses the partial "${partial}", which does not exist`,
          hint: `create ${path.join(templatesDir, '_partials', `${partial}.hbs`)}`,
          severity: 'error',
        });
      }
    }
  }
  return { problems };
}

function checkTemplates(ctx: Ctx): void {
  const refs: { name: string; pointer: string }[] = [];
  const add = (value: unknown, pointer: string): void => {
    if (typeof value === 'string' && SAFE_NAME.test(value)) refs.push({ name: value, pointer });
  };
  list(ctx.def.emailRules).forEach((rule, i) => {
    if (isObj(rule)) add(rule.template, ptr('', 'emailRules', i, 'template'));
  });
  for (const email of stepEmails(ctx)) add(email.raw.template, ptr(email.pointer, 'template'));
  list(ctx.def.scheduledEmails).forEach((s, i) => {
    if (isObj(s)) add(s.template, ptr('', 'scheduledEmails', i, 'template'));
  });
  const checked = new Map<string, TemplateCheck>();
  for (const ref of refs) {
    const first = !checked.has(ref.name);
    const result = checked.get(ref.name) ?? inspectTemplate(ctx.opts.templatesDir, ref.name);
    checked.set(ref.name, result);
    if (result.missing) error(ctx, ref.pointer, result.missing.message, result.missing.hint);
    if (!first) continue;
    for (const p of result.problems)
      ctx.out.push(issue(ctx.file, ref.pointer, p.message, p.hint, p.severity));
  }
}

function checkSchemas(ctx: Ctx): void {
  const schemas: { pointer: string; value: unknown; what: string }[] = [
    { pointer: '/fields', value: ctx.def.fields, what: 'case fields' },
    { pointer: '/lines', value: ctx.def.lines, what: 'a line' },
  ];
  list(ctx.def.actionTypes).forEach((a, i) => {
    if (isObj(a))
      schemas.push({ pointer: ptr('', 'actionTypes', i, 'fields'), value: a.fields, what: 'action fields' });
  });
  for (const step of ctx.steps.values()) {
    if (step.type === 'human')
      schemas.push({ pointer: ptr(step.pointer, 'form'), value: step.raw.form, what: 'a form' });
  }
  for (const { pointer, value, what } of schemas) {
    if (!isObj(value)) continue;
    if (value.type !== undefined && value.type !== 'object') {
      error(
        ctx,
        ptr(pointer, 'type'),
        `the schema of ${what} must describe an object, not ${JSON.stringify(value.type)}`,
        'use "type": "object" with "properties"',
      );
    }
    const problem = schemaProblem(value);
    if (problem) {
      error(
        ctx,
        pointer + problem.at,
        problem.invalid
          ? `invalid JSON Schema of ${what}: ${problem.message}`
          : `JSON Schema of ${what} does not compile: ${problem.message}`,
        problem.invalid
          ? 'use JSON Schema 2020-12 (https://json-schema.org/understanding-json-schema)'
          : 'use JSON Schema 2020-12 keywords (type, properties, required, enum, minimum, format, ...); for notes use "description" or "$comment"',
      );
    }
  }
}

/** One ajv for the schemas embedded in definitions; compiling is slow, so results are kept by content. */
let embeddedAjv: ReturnType<typeof newAjv> | undefined;
const schemaResults = new Map<string, { at: string; message: string; invalid: boolean } | null>();

/** Why an embedded JSON Schema is unusable (invalid against the meta-schema, or rejected by strict mode). */
function schemaProblem(schema: Obj): { at: string; message: string; invalid: boolean } | null {
  const key = JSON.stringify(schema);
  const known = schemaResults.get(key);
  if (known !== undefined) return known;
  embeddedAjv ??= newAjv({ strict: true });
  const ajv = embeddedAjv;
  let result: { at: string; message: string; invalid: boolean } | null = null;
  if (!ajv.validateSchema(schema)) {
    const problems = (ajv.errors ?? []).filter((e) => e.keyword !== 'anyOf' && e.keyword !== 'oneOf');
    const deepest = problems.sort((a, b) => b.instancePath.length - a.instancePath.length)[0];
    const allowed =
      deepest?.keyword === 'enum'
        ? ` (${(deepest.params as { allowedValues: unknown[] }).allowedValues.join(', ')})`
        : '';
    result = {
      at: deepest?.instancePath ?? '',
      message: `${deepest?.instancePath.split('/').pop() ?? 'schema'} ${deepest?.message ?? 'is invalid'}${allowed}`,
      invalid: true,
    };
  } else {
    try {
      ajv.compile(schema);
    } catch (e) {
      result = { at: '', message: e instanceof Error ? e.message : String(e), invalid: false };
    } finally {
      ajv.removeSchema(schema);
    }
  }
  if (schemaResults.size > 500) schemaResults.clear();
  schemaResults.set(key, result);
  return result;
}

// ---------------------------------------------------------------------------------------------
// The step graph: reachability, termination, parallel/join pairing, automatic loops

function reachableFrom(ctx: Ctx, roots: string[]): Set<string> {
  const seen = new Set<string>();
  const queue = roots.filter((id) => ctx.steps.has(id));
  while (queue.length > 0) {
    const id = queue.shift() as string;
    if (seen.has(id)) continue;
    seen.add(id);
    const step = ctx.steps.get(id);
    if (step)
      for (const next of successors(step)) if (ctx.steps.has(next) && !seen.has(next)) queue.push(next);
  }
  return seen;
}

/** Steps from which the case can finish: a transition with `end`, a dead end, or a failed condition. */
function finishingSteps(ctx: Ctx): Set<string> {
  const finishing = new Set<string>();
  const finishes = (id: string): boolean => !ctx.steps.has(id) || finishing.has(id);
  const transitionFinishes = (t: TransitionInfo): boolean =>
    t.raw.end === true || nextRefs(t).every((r) => finishes(r.id));
  let changed = true;
  while (changed) {
    changed = false;
    for (const step of ctx.steps.values()) {
      if (finishing.has(step.id)) continue;
      let ok: boolean;
      if (step.type === 'parallel') {
        ok = stringsAt(step.raw.branches, '').every((b) => finishes(b.id));
      } else {
        const groups = transitionGroups(step);
        ok =
          groups.length === 0 ||
          groups.some(
            (g) =>
              g.transitions.length === 0 ||
              g.transitions.every((t) => 'if' in t.raw) ||
              g.transitions.some(transitionFinishes),
          );
      }
      if (ok) {
        finishing.add(step.id);
        changed = true;
      }
    }
  }
  return finishing;
}

function isInstant(step: StepInfo): boolean {
  switch (step.type) {
    case 'automatic':
    case 'parallel':
    case 'join':
      return true;
    case 'subcase':
      return step.raw.wait !== true;
    case 'wait': {
      const d = typeof step.raw.until === 'string' ? parseDuration(step.raw.until) : undefined;
      return d !== undefined && Object.values(d).every((v, i) => i === 0 || v === 0);
    }
    default:
      return false;
  }
}

/** Strongly connected components (Tarjan) of the sub-graph of steps that never stop a token. */
function instantCycles(ctx: Ctx): string[][] {
  const instant = [...ctx.steps.values()].filter(isInstant);
  const ids = new Set(instant.map((s) => s.id));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let counter = 0;
  const visit = (id: string): void => {
    index.set(id, counter);
    low.set(id, counter);
    counter += 1;
    stack.push(id);
    onStack.add(id);
    const step = ctx.steps.get(id) as StepInfo;
    const next = successors(step).filter((n) => ids.has(n));
    for (const n of next) {
      if (!index.has(n)) {
        visit(n);
        low.set(id, Math.min(low.get(id) as number, low.get(n) as number));
      } else if (onStack.has(n)) {
        low.set(id, Math.min(low.get(id) as number, index.get(n) as number));
      }
    }
    if (low.get(id) !== index.get(id)) return;
    const component: string[] = [];
    for (;;) {
      const top = stack.pop() as string;
      onStack.delete(top);
      component.push(top);
      if (top === id) break;
    }
    if (component.length > 1 || next.includes(id)) cycles.push(component);
  };
  for (const step of instant) if (!index.has(step.id)) visit(step.id);
  const order = [...ctx.steps.keys()];
  return cycles.map((c) => c.sort((a, b) => order.indexOf(a) - order.indexOf(b)));
}

/** Warns about the steps nothing leads to; returns the steps something does. */
function checkReachable(ctx: Ctx): Set<string> {
  const roots = stringsAt(ctx.def.start, '').map((r) => r.id);
  list(ctx.def.timers).forEach((timer) => {
    if (isObj(timer) && isObj(timer.then))
      roots.push(...nextRefs({ pointer: '', raw: timer.then }).map((r) => r.id));
  });
  const reachable = reachableFrom(ctx, roots);
  for (const step of ctx.steps.values()) {
    if (!reachable.has(step.id)) {
      warn(
        ctx,
        step.pointer,
        `step "${step.id}" is never reached`,
        'no start, next, parallel branch or timer leads here: link it from a transition\'s "next", or remove it',
      );
    }
  }
  return reachable;
}

const STEP_TYPES = ['human', 'wait', 'automatic', 'parallel', 'join', 'subcase'];
/** The properties of a step that link it to others (its kind says which links it has). */
const LINK_PROPERTIES = ['type', 'outcomes', 'then', 'branches', 'join'];

function isTransitions(value: unknown): boolean {
  const items = Array.isArray(value) ? value : [value];
  return items.every(
    (t) =>
      isObj(t) &&
      (t.next === undefined ||
        typeof t.next === 'string' ||
        (Array.isArray(t.next) && t.next.every((n) => typeof n === 'string'))),
  );
}

/**
 * A partial join's `complete` counts branches of its parallel: more than it has can never be met (an error).
 * `rest` only matters when the join does not wait for all (a warning).
 */
function checkPartialJoin(ctx: Ctx, split: StepInfo, join: StepInfo): void {
  const branches = Array.isArray(split.raw.branches) ? split.raw.branches.length : 0;
  const complete = join.raw.complete;
  if (typeof complete === 'number' && branches > 0 && complete > branches) {
    error(
      ctx,
      ptr(join.pointer, 'complete'),
      `"complete": ${complete} is more than the ${branches} branches of "${split.id}": it can never be met, and the join would wait for every branch`,
      `the join counts the branches of its parallel: use at most ${branches}, or "all"`,
    );
  }
  if (join.raw.rest !== undefined && (complete === undefined || complete === 'all')) {
    warn(
      ctx,
      ptr(join.pointer, 'rest'),
      `"rest" has no effect: the join "${join.id}" waits for every branch`,
      'remove "rest", or set "complete" to "any" or a number of branches',
    );
  }
}

/**
 * Whether the links between steps (start, outcomes, `then`, branches, joins, timers) can be read as written,
 * so that what reachability finds is what the file says, not an echo of a schema error.
 */
function linksIntact(ctx: Ctx): boolean {
  const broken = (ctx.opts.schemaProblems ?? []).some((p) => {
    const [, root, id, key] = p.split('/');
    if (root === 'start' || (root === 'steps' && id === undefined)) return true;
    if (root === 'steps') return key !== undefined && LINK_PROPERTIES.includes(key);
    return root === 'timers' && id !== undefined && key === 'then';
  });
  if (broken || !isObj(ctx.def.steps)) return false;
  const start = ctx.def.start;
  if (!(typeof start === 'string' || (Array.isArray(start) && start.every((s) => typeof s === 'string'))))
    return false;
  const timersOk = list(ctx.def.timers).every(
    (t) => isObj(t) && (t.then === undefined || isTransitions(t.then)),
  );
  if (ctx.def.timers !== undefined && !Array.isArray(ctx.def.timers)) return false;
  return (
    timersOk &&
    Object.values(ctx.def.steps).every((step) => {
      if (!isObj(step) || typeof step.type !== 'string' || !STEP_TYPES.includes(step.type)) return false;
      const outcomes = step.outcomes;
      const outcomesOk =
        outcomes === undefined
          ? step.type !== 'human'
          : isObj(outcomes) && Object.values(outcomes).every(isTransitions);
      const thenOk =
        step.then === undefined
          ? ['human', 'parallel', 'subcase'].includes(step.type)
          : isTransitions(step.then);
      if (step.type === 'parallel')
        return (
          Array.isArray(step.branches) &&
          step.branches.every((b) => typeof b === 'string') &&
          typeof step.join === 'string'
        );
      return outcomesOk && thenOk;
    })
  );
}

function checkGraph(ctx: Ctx): void {
  const reachable = checkReachable(ctx);

  const finishing = finishingSteps(ctx);
  for (const step of ctx.steps.values()) {
    if (finishing.has(step.id)) continue;
    error(
      ctx,
      step.pointer,
      `step "${step.id}" has no path to the end of the case`,
      'every path from here loops forever: give some outcome a transition with "end": true, or one without "next"',
    );
  }

  const joinsOfParallels = new Set<string>();
  for (const step of ctx.steps.values()) {
    if (step.type !== 'parallel' || typeof step.raw.join !== 'string') continue;
    const join = ctx.steps.get(step.raw.join);
    joinsOfParallels.add(step.raw.join);
    if (!join) continue;
    if (join.type !== 'join') {
      error(
        ctx,
        ptr(step.pointer, 'join'),
        `"${join.id}" is a ${String(join.type)} step, not a join`,
        `point "join" at a step with "type": "join"`,
      );
      continue;
    }
    checkPartialJoin(ctx, step, join);
    // An unreached parallel is reported as such; what its branches would do does not matter.
    if (!reachable.has(step.id)) continue;
    // A branch that can never reach the join is withdrawn when it ends and the join goes on without it
    // (a warning); when no branch can reach it, the join never fires (an error).
    const branches = stringsAt(step.raw.branches, ptr(step.pointer, 'branches')).filter((b) =>
      ctx.steps.has(b.id),
    );
    const lost = branches.filter((b) => !reachableFrom(ctx, [b.id]).has(join.id));
    if (lost.length > 0 && lost.length === branches.length) {
      error(
        ctx,
        ptr(step.pointer, 'join'),
        `no branch of "${step.id}" ever reaches its join "${join.id}": the join never fires`,
        `lead the branches' last steps to "next": "${join.id}"`,
      );
      continue;
    }
    const need = join.raw.complete === 'any' ? 1 : join.raw.complete;
    const arriving = branches.length - lost.length;
    if (typeof need === 'number' && lost.length > 0 && need > arriving && need <= branches.length) {
      warn(
        ctx,
        ptr(join.pointer, 'complete'),
        `only ${arriving} of the ${branches.length} branches of "${step.id}" can reach the join "${join.id}": "complete": ${need} is never met, the join fires only once every other branch has ended`,
        `lower "complete" to ${arriving} or lead more branches to "${join.id}"`,
      );
    }
    for (const branch of lost) {
      warn(
        ctx,
        branch.pointer,
        `branch "${branch.id}" never reaches the join "${join.id}": it is withdrawn when it ends, and the join goes on without it`,
        `lead the branch's last step to "next": "${join.id}" if the join should wait for it`,
      );
    }
  }
  const rootRefs = stringsAt(ctx.def.start, '/start');
  list(ctx.def.timers).forEach((timer, i) => {
    if (isObj(timer) && isObj(timer.then))
      rootRefs.push(...nextRefs({ pointer: ptr('', 'timers', i, 'then'), raw: timer.then }));
  });
  checkRegions(ctx, rootRefs, reachable);
  for (const step of ctx.steps.values()) {
    if (step.type === 'join' && !joinsOfParallels.has(step.id)) {
      error(
        ctx,
        step.pointer,
        `join "${step.id}" belongs to no parallel step`,
        `a parallel step must name it: {"type": "parallel", "branches": [...], "join": "${step.id}"}`,
      );
    }
  }

  for (const cycle of instantCycles(ctx)) {
    const first = cycle[0] as string;
    error(
      ctx,
      ctx.steps.get(first)?.pointer ?? '/steps',
      `automatic loop ${[...cycle, first].join(' -> ')} never waits for a person or a timer`,
      'the engine would spin (it stops a case after 1000 steps for one event): put a human or wait step in the loop',
    );
  }
}

/** Every `next` reference and parallel branch of a step, with its pointer. */
function edges(step: StepInfo): { id: string; pointer: string; cancels?: string[] }[] {
  const out = transitionGroups(step).flatMap((g) => g.transitions.flatMap((t) => nextRefs(t)));
  if (step.type === 'parallel') out.push(...stringsAt(step.raw.branches, ptr(step.pointer, 'branches')));
  return out;
}

/** Steps reachable from `from`, not expanding (nor including) the steps in `stop`. */
function closure(ctx: Ctx, from: string[], stop: Set<string>): Set<string> {
  const seen = new Set<string>();
  const queue = from.filter((id) => ctx.steps.has(id) && !stop.has(id));
  while (queue.length > 0) {
    const id = queue.shift() as string;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const next of successors(ctx.steps.get(id) as StepInfo)) {
      if (ctx.steps.has(next) && !stop.has(next) && !seen.has(next)) queue.push(next);
    }
  }
  return seen;
}

/**
 * Parallel regions must be blocks (definitions/README.md#how-a-case-runs): the region of a parallel step is
 * what its branches reach before its join; it is entered only through the split, left only through the join,
 * and each join closes one split. Anything else would let tokens of one split instance meet another's join.
 */
function checkRegions(ctx: Ctx, roots: { id: string; pointer: string }[], reachable: Set<string>): void {
  const owner = new Map<string, string>();
  for (const split of ctx.steps.values()) {
    if (split.type !== 'parallel' || typeof split.raw.join !== 'string') continue;
    const joinId = split.raw.join;
    const join = ctx.steps.get(joinId);
    if (join?.type !== 'join') continue;
    const first = owner.get(joinId);
    if (first !== undefined) {
      error(
        ctx,
        ptr(split.pointer, 'join'),
        `join "${joinId}" already closes the parallel "${first}"`,
        'give each parallel step its own join step: a shared join would lose which split instance a branch belongs to',
      );
      continue;
    }
    owner.set(joinId, split.id);
    const branches = stringsAt(split.raw.branches, '').map((r) => r.id);
    const region = closure(ctx, branches, new Set([joinId]));
    const after = closure(ctx, successors(join), new Set([split.id, joinId]));
    const backInto = edges(join).find((e) => region.has(e.id) && after.has(e.id) && branches.includes(e.id));
    if (backInto) {
      error(
        ctx,
        backInto.pointer,
        `the join "${joinId}" leads back into its own region at "${backInto.id}"`,
        `go back to the split "${split.id}" instead: it starts every branch again`,
      );
      continue;
    }
    const inside = new Set([...region].filter((id) => !after.has(id) && id !== split.id));
    for (const id of inside) {
      for (const edge of edges(ctx.steps.get(id) as StepInfo)) {
        if (edge.id === split.id && !edge.cancels?.includes(split.id)) {
          error(
            ctx,
            edge.pointer,
            `goes back to "${split.id}" from inside its parallel region, without passing the join "${joinId}"`,
            `let the branch reach "${joinId}" and loop from after the join, or loop within the branch`,
          );
        } else if (
          ctx.steps.has(edge.id) &&
          !inside.has(edge.id) &&
          edge.id !== joinId &&
          // Cancelling the region is the way out of it: nothing of the split instance is left behind.
          !edge.cancels?.includes(split.id)
        ) {
          error(
            ctx,
            edge.pointer,
            `leaves the parallel region of "${split.id}" for "${edge.id}" without passing its join "${joinId}"`,
            `lead the branch to "${joinId}" and go on from the join's "then", or cancel the region on the way out ("cancel": ["${split.id}"]); to stop the whole case use "end": true`,
          );
        }
      }
    }
    const entries = [
      ...roots,
      ...[...ctx.steps.values()]
        // Unreached steps are reported as such; their links enter nothing.
        .filter((s) => s.id !== split.id && !inside.has(s.id) && reachable.has(s.id))
        .flatMap((s) => edges(s)),
    ];
    for (const edge of entries) {
      if (!inside.has(edge.id) && edge.id !== joinId) continue;
      error(
        ctx,
        edge.pointer,
        edge.id === joinId
          ? `reaches the join "${joinId}" of "${split.id}" from outside its parallel region`
          : `enters the parallel region of "${split.id}" at "${edge.id}" without passing "${split.id}"`,
        `go to "${split.id}", which starts all its branches; a step inside a region is reached only from its split`,
      );
    }
  }
}

/** Runs every semantic check; returns warnings and errors together. */
export function semanticIssues(def: Obj, file: string, opts: SemanticOptions): DefinitionIssue[] {
  const steps = new Map<string, StepInfo>();
  if (isObj(def.steps)) {
    for (const [id, raw] of Object.entries(def.steps)) {
      if (isObj(raw)) {
        steps.set(id, {
          id,
          pointer: ptr('/steps', id),
          type: typeof raw.type === 'string' ? raw.type : undefined,
          raw,
        });
      }
    }
  }
  const fields = isObj(def.fields) ? def.fields : undefined;
  const closedFields =
    fields && fields.additionalProperties === false && isObj(fields.properties)
      ? Object.keys(fields.properties)
      : undefined;
  const ctx: Ctx = {
    file,
    def,
    opts,
    out: [],
    steps,
    statuses: list(def.statuses).flatMap((s) => (isObj(s) && typeof s.code === 'string' ? [s.code] : [])),
    closedFields,
  };
  checkDuplicates(ctx, 'statuses', 'code', 'status code');
  checkDuplicates(ctx, 'actionTypes', 'code', 'action type code');
  checkDuplicates(ctx, 'emailRules', 'id', 'email rule id');
  checkDuplicates(ctx, 'timers', 'id', 'timer id');
  checkDuplicates(ctx, 'scheduledEmails', 'id', 'scheduled email id');
  checkDuplicates(ctx, 'messages', 'name', 'message name');
  checkReferences(ctx);
  checkMessages(ctx);
  checkBusinessKey(ctx);
  checkActionTypes(ctx);
  checkSubcases(ctx);
  checkTransitions(ctx);
  checkTexts(ctx);
  checkDurations(ctx);
  checkEmailRules(ctx);
  checkTemplates(ctx);
  checkSchemas(ctx);
  if (opts.wellFormed !== false) checkGraph(ctx);
  else if (linksIntact(ctx)) checkReachable(ctx);
  return ctx.out;
}
