import jsonLogic from 'json-logic-js';
import { escapePointer } from '../lib/json-pointer';

/**
 * Conditions are JSON Logic (https://jsonlogic.com) restricted to these pure operations:
 * no `log`, no `method`, nothing that touches the outside world.
 */
export const ALLOWED_OPERATIONS = new Set([
  'var',
  'missing',
  'missing_some',
  '==',
  '===',
  '!=',
  '!==',
  '>',
  '>=',
  '<',
  '<=',
  '!',
  '!!',
  'and',
  'or',
  'if',
  '?:',
  'in',
  'cat',
  'substr',
  '+',
  '-',
  '*',
  '/',
  '%',
  'min',
  'max',
  'merge',
  'map',
  'filter',
  'reduce',
  'all',
  'none',
  'some',
]);

/** Returns a list of problems with a condition (unknown operations, malformed nodes); empty when valid. */
export function checkCondition(condition: unknown, pointer = ''): { pointer: string; message: string }[] {
  const problems: { pointer: string; message: string }[] = [];
  const visit = (node: unknown, at: string): void => {
    if (Array.isArray(node)) {
      node.forEach((item, i) => visit(item, `${at}/${i}`));
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const keys = Object.keys(node);
    if (keys.length !== 1) {
      problems.push({
        pointer: at,
        message: `a condition object must have exactly one operation, found ${keys.length}`,
      });
      return;
    }
    const op = keys[0] as string;
    if (!ALLOWED_OPERATIONS.has(op)) {
      problems.push({ pointer: at, message: `unknown or forbidden condition operation "${op}"` });
      return;
    }
    visit((node as Record<string, unknown>)[op], `${at}/${escapePointer(op)}`);
  };
  visit(condition, pointer);
  return problems;
}

/** Evaluates a condition against a context (`{ data, status, outcome, form }`); truthiness per JSON Logic. */
export function evaluateCondition(condition: unknown, context: Record<string, unknown>): boolean {
  if (condition === undefined) return true;
  return jsonLogic.truthy(jsonLogic.apply(condition as jsonLogic.RulesLogic, context));
}

/** Escapes a JSON pointer token (RFC 6901): the one escaper, from lib/json-pointer.ts. */
export { escapePointer };
