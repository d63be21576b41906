// Label selectors: the string syntax of `kubectl -l` / `?labelSelector=` and the structured
// `metav1.LabelSelector`, with upstream's parse errors, matching semantics and string form.
import type { LabelSelector, LabelSelectorRequirement } from 'kubernetes-types/meta/v1.js';
import {
  type FieldError,
  errBadRequest,
  fieldErrorBody,
  forbidden,
  invalidValue,
  required,
} from './errors.js';
import { labelValueErrors, qualifiedNameErrors, validateLabels } from './validation.js';

export type { LabelSelector, LabelSelectorRequirement };

export type SelectorOperator =
  | 'In'
  | 'NotIn'
  | 'Equals'
  | 'DoubleEquals'
  | 'NotEquals'
  | 'Exists'
  | 'DoesNotExist'
  | 'GreaterThan'
  | 'LessThan';

/** One AND-ed term of a label selector. `values` is empty for Exists / DoesNotExist. */
export interface LabelRequirement {
  key: string;
  operator: SelectorOperator;
  values: string[];
}

// The operator names upstream lists in "expected: …" messages (selection.Operator values).
const BINARY_OPERATORS = 'in, notin, =, ==, !=, gt, lt';

// ---- requirement construction (upstream NewRequirement) ----

const renderFieldError = (e: FieldError) => `${e.field}: ${fieldErrorBody(e)}`;
const aggregate = (msgs: string[]) => (msgs.length === 1 ? msgs[0] : `[${msgs.join(', ')}]`);

function labelKeyError(key: string, field: string): FieldError | undefined {
  const msgs = qualifiedNameErrors(key);
  return msgs.length ? invalidValue(field, key, msgs.join('; ')) : undefined;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** strconv.ParseInt(s, 10, 64): undefined when not a base-10 int64. */
function parseInt64(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = BigInt(s);
  return n < INT64_MIN || n > INT64_MAX ? undefined : n;
}

/**
 * Checks a requirement as upstream's NewRequirement does; returns the aggregated message
 * (field paths relative to the requirement, `key`, `values[i]`), or undefined when valid.
 */
function requirementError(key: string, operator: SelectorOperator, values: string[]): string | undefined {
  const errs: FieldError[] = [];
  const keyErr = labelKeyError(key, 'key');
  if (keyErr) errs.push(keyErr);
  switch (operator) {
    case 'In':
    case 'NotIn':
      if (values.length === 0) errs.push(invalidValue('values', values, "for 'in', 'notin' operators, values set can't be empty"));
      break;
    case 'Equals':
    case 'DoubleEquals':
    case 'NotEquals':
      if (values.length !== 1) errs.push(invalidValue('values', values, 'exact-match compatibility requires one single value'));
      break;
    case 'Exists':
    case 'DoesNotExist':
      if (values.length !== 0) errs.push(invalidValue('values', values, 'values set must be empty for exists and does not exist'));
      break;
    case 'GreaterThan':
    case 'LessThan':
      if (values.length !== 1) errs.push(invalidValue('values', values, "for 'Gt', 'Lt' operators, exactly one value is required"));
      values.forEach((v, i) => {
        if (parseInt64(v) === undefined)
          errs.push(invalidValue(`values[${i}]`, v, "for 'Gt', 'Lt' operators, the value must be an integer"));
      });
      break;
  }
  values.forEach((v, i) => {
    const msgs = labelValueErrors(v);
    if (msgs.length) errs.push(invalidValue(`values[${i}][${key}]`, v, msgs.join('; ')));
  });
  return errs.length ? aggregate(errs.map(renderFieldError)) : undefined;
}

const byKey = (a: LabelRequirement, b: LabelRequirement) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

// ---- lexer ----

type Token =
  | 'error'
  | 'eos'
  | 'closePar'
  | 'comma'
  | 'not'
  | 'doubleEquals'
  | 'equals'
  | 'greaterThan'
  | 'identifier'
  | 'in'
  | 'lessThan'
  | 'notEquals'
  | 'notIn'
  | 'openPar';

const LITERAL_TOKENS: Record<string, Token> = {
  ')': 'closePar',
  ',': 'comma',
  '!': 'not',
  '==': 'doubleEquals',
  '=': 'equals',
  '>': 'greaterThan',
  in: 'in',
  '<': 'lessThan',
  '!=': 'notEquals',
  notin: 'notIn',
  '(': 'openPar',
};

interface Scanned {
  tok: Token;
  lit: string;
}

const isWhitespace = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isSpecialSymbol = (c: string) => '=!(),><'.includes(c);

function lex(s: string): Scanned[] {
  const items: Scanned[] = [];
  let pos = 0;
  for (;;) {
    while (pos < s.length && isWhitespace(s[pos])) pos++;
    if (pos >= s.length) {
      items.push({ tok: 'eos', lit: '' });
      return items;
    }
    if (isSpecialSymbol(s[pos])) {
      // longest run of special symbols that still forms an operator: "!=" but "=" then "("
      let buffer = '';
      let last: Scanned | undefined;
      while (pos < s.length && isSpecialSymbol(s[pos])) {
        buffer += s[pos];
        const tok = LITERAL_TOKENS[buffer];
        if (tok) last = { tok, lit: buffer };
        else if (last) break;
        pos++;
      }
      items.push(last ?? { tok: 'error', lit: `error expected: keyword found '${buffer}'` });
      continue;
    }
    const start = pos;
    while (pos < s.length && !isSpecialSymbol(s[pos]) && !isWhitespace(s[pos])) pos++;
    const word = s.slice(start, pos);
    items.push({ tok: LITERAL_TOKENS[word] ?? 'identifier', lit: word });
  }
}

// ---- parser (upstream labels.Parse grammar) ----

class SelectorParser {
  private position = 0;
  constructor(private readonly items: Scanned[]) {}

  /** In value position the keywords `in` / `notin` are plain identifiers. */
  private asValue(item: Scanned, values: boolean): Scanned {
    return values && (item.tok === 'in' || item.tok === 'notIn') ? { tok: 'identifier', lit: item.lit } : item;
  }
  private lookahead(values = true): Scanned {
    return this.asValue(this.items[this.position], values);
  }
  private consume(values = true): Scanned {
    return this.asValue(this.items[this.position++], values);
  }

  parse(): LabelRequirement[] {
    const reqs: LabelRequirement[] = [];
    for (;;) {
      const { tok, lit } = this.lookahead();
      if (tok === 'eos') return reqs;
      if (tok !== 'identifier' && tok !== 'not') throw new Error(`found '${lit}', expected: !, identifier, or 'end of string'`);
      let r: LabelRequirement;
      try {
        r = this.parseRequirement();
      } catch (e) {
        throw new Error(`unable to parse requirement: ${(e as Error).message}`);
      }
      reqs.push(r);
      const next = this.consume();
      if (next.tok === 'eos') return reqs;
      if (next.tok !== 'comma') throw new Error(`found '${next.lit}', expected: ',' or 'end of string'`);
      const after = this.lookahead();
      if (after.tok !== 'identifier' && after.tok !== 'not') throw new Error(`found '${after.lit}', expected: identifier after ','`);
    }
  }

  private parseRequirement(): LabelRequirement {
    let operator: SelectorOperator | undefined;
    let { tok, lit } = this.consume();
    if (tok === 'not') {
      operator = 'DoesNotExist';
      ({ tok, lit } = this.consume());
    }
    if (tok !== 'identifier') throw new Error(`found '${lit}', expected: identifier`);
    const key = lit;
    const keyErr = labelKeyError(key, '<nil>');
    if (keyErr) throw new Error(renderFieldError(keyErr));
    const next = this.lookahead().tok;
    if (next === 'eos' || next === 'comma') operator ??= 'Exists';
    if (operator === 'Exists' || operator === 'DoesNotExist') return this.build(key, operator, []);

    const op = this.consume(false);
    switch (op.tok) {
      case 'in':
        return this.build(key, 'In', this.parseValues());
      case 'notIn':
        return this.build(key, 'NotIn', this.parseValues());
      case 'equals':
        return this.build(key, 'Equals', this.parseExactValue());
      case 'doubleEquals':
        return this.build(key, 'DoubleEquals', this.parseExactValue());
      case 'notEquals':
        return this.build(key, 'NotEquals', this.parseExactValue());
      case 'greaterThan':
        return this.build(key, 'GreaterThan', this.parseExactValue());
      case 'lessThan':
        return this.build(key, 'LessThan', this.parseExactValue());
      default:
        throw new Error(`found '${op.lit}', expected: ${BINARY_OPERATORS}`);
    }
  }

  private build(key: string, operator: SelectorOperator, values: Iterable<string>): LabelRequirement {
    const sorted = [...values].sort();
    const err = requirementError(key, operator, sorted);
    if (err) throw new Error(err);
    return { key, operator, values: sorted };
  }

  private parseValues(): Set<string> {
    const open = this.consume();
    if (open.tok !== 'openPar') throw new Error(`found '${open.lit}' expected: '('`);
    const { tok, lit } = this.lookahead();
    if (tok === 'closePar') {
      this.consume();
      return new Set(['']);
    }
    if (tok !== 'identifier' && tok !== 'comma') throw new Error(`found '${lit}', expected: ',', ')' or identifier`);
    const values = this.parseIdentifiersList();
    if (this.consume().tok !== 'closePar') throw new Error(`found '${lit}', expected: ')'`);
    return values;
  }

  /** A comma-separated list in which empty entries stand for the empty value: `(a,,b)`, `(,a)`. */
  private parseIdentifiersList(): Set<string> {
    const values = new Set<string>();
    for (;;) {
      const { tok, lit } = this.consume();
      if (tok === 'identifier') {
        values.add(lit);
        const next = this.lookahead();
        if (next.tok === 'comma') continue;
        if (next.tok === 'closePar') return values;
        throw new Error(`found '${next.lit}', expected: ',' or ')'`);
      }
      if (tok !== 'comma') throw new Error(`found '${lit}', expected: ',', or identifier`);
      if (values.size === 0) values.add('');
      const next = this.lookahead().tok;
      if (next === 'closePar') {
        values.add('');
        return values;
      }
      if (next === 'comma') values.add('');
    }
  }

  private parseExactValue(): Set<string> {
    const next = this.lookahead().tok;
    if (next === 'eos' || next === 'comma') return new Set(['']);
    const { tok, lit } = this.consume();
    if (tok === 'identifier') return new Set([lit]);
    throw new Error(`found '${lit}', expected: identifier`);
  }
}

/**
 * Parses a label selector string. Requirements come back sorted by key, values sorted and
 * de-duplicated. Throws a 400 BadRequest StatusError with upstream's message when invalid.
 */
export function parseLabelSelector(s: string): LabelRequirement[] {
  try {
    return new SelectorParser(lex(s)).parse().sort(byKey);
  } catch (e) {
    throw errBadRequest((e as Error).message);
  }
}

function requirementMatches(r: LabelRequirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  switch (r.operator) {
    case 'In':
    case 'Equals':
    case 'DoubleEquals':
      return has && r.values.includes(labels[r.key]);
    case 'NotIn':
    case 'NotEquals':
      return !has || !r.values.includes(labels[r.key]);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'GreaterThan':
    case 'LessThan': {
      if (!has || r.values.length !== 1) return false;
      const actual = parseInt64(labels[r.key]);
      const wanted = parseInt64(r.values[0]);
      if (actual === undefined || wanted === undefined) return false;
      return r.operator === 'GreaterThan' ? actual > wanted : actual < wanted;
    }
    default:
      return false;
  }
}

/** True when every requirement matches (an empty selector matches everything). */
export function labelsMatch(reqs: LabelRequirement[], labels: Record<string, string> | undefined): boolean {
  const ls = labels ?? {};
  for (const r of reqs) if (!requirementMatches(r, ls)) return false;
  return true;
}

const EXPRESSION_OPERATORS: Record<string, SelectorOperator> = {
  In: 'In',
  NotIn: 'NotIn',
  Exists: 'Exists',
  DoesNotExist: 'DoesNotExist',
};

/**
 * Converts a structured selector (upstream LabelSelectorAsSelector). An empty selector gives no
 * requirements (matches everything); note that a *missing* selector matches nothing upstream,
 * which callers decide (see labelSelectorMatches). Throws 400 BadRequest when invalid.
 */
export function selectorFromLabelSelector(sel: LabelSelector): LabelRequirement[] {
  const reqs: LabelRequirement[] = [];
  const add = (key: string, operator: SelectorOperator, values: string[]) => {
    const err = requirementError(key, operator, values);
    if (err) throw errBadRequest(err);
    reqs.push({ key, operator, values });
  };
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) add(k, 'Equals', [v]);
  for (const expr of sel.matchExpressions ?? []) {
    const op = EXPRESSION_OPERATORS[expr.operator];
    if (!op) throw errBadRequest(`${JSON.stringify(expr.operator)} is not a valid label selector operator`);
    add(expr.key, op, [...(expr.values ?? [])]);
  }
  return reqs.sort(byKey);
}

/** Whether a structured selector selects these labels; a missing selector selects nothing. */
export function labelSelectorMatches(sel: LabelSelector | undefined | null, labels: Record<string, string> | undefined): boolean {
  if (!sel) return false;
  return labelsMatch(selectorFromLabelSelector(sel), labels);
}

const OPERATOR_TEXT: Record<SelectorOperator, string> = {
  Equals: '=',
  DoubleEquals: '==',
  NotEquals: '!=',
  In: ' in ',
  NotIn: ' notin ',
  GreaterThan: '>',
  LessThan: '<',
  Exists: '',
  DoesNotExist: '',
};

/** The string form of one requirement, as upstream's Requirement.String(). */
export function formatRequirement(r: LabelRequirement): string {
  if (r.operator === 'DoesNotExist') return `!${r.key}`;
  if (r.operator === 'Exists') return r.key;
  const values = r.values.length === 1 ? r.values[0] : [...r.values].sort().join(',');
  const set = r.operator === 'In' || r.operator === 'NotIn';
  return `${r.key}${OPERATOR_TEXT[r.operator]}${set ? `(${values})` : values}`;
}

/** The string form of parsed requirements (`a=b,c in (d,e)`), parseable by parseLabelSelector. */
export const formatRequirements = (reqs: LabelRequirement[]): string => reqs.map(formatRequirement).join(',');

/**
 * The string form of a structured selector, as a Scale's `status.selector` carries it:
 * requirements sorted by key, e.g. `app=web,tier in (a,b)`; an empty or missing selector gives ``.
 * Does not validate; an unknown operator gives `<error>` as upstream's FormatLabelSelector does.
 */
export function formatLabelSelector(sel: LabelSelector | undefined | null): string {
  if (!sel) return '';
  const reqs: LabelRequirement[] = Object.entries(sel.matchLabels ?? {}).map(([key, v]) => ({ key, operator: 'Equals', values: [v] }));
  for (const expr of sel.matchExpressions ?? []) {
    const op = EXPRESSION_OPERATORS[expr.operator];
    if (!op) return '<error>';
    reqs.push({ key: expr.key, operator: op, values: [...(expr.values ?? [])] });
  }
  return formatRequirements(reqs.sort(byKey));
}

/** Upstream ValidateLabelSelector: field errors under `path` (e.g. `spec.selector`). */
export function validateLabelSelector(sel: LabelSelector | undefined | null, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!sel) return errs;
  errs.push(...validateLabels(sel.matchLabels, `${path}.matchLabels`));
  const exprs: unknown = sel.matchExpressions;
  if (exprs === undefined || exprs === null) return errs;
  if (!Array.isArray(exprs)) return [...errs, invalidValue(`${path}.matchExpressions`, exprs, 'must be a list')];
  exprs.forEach((expr: LabelSelectorRequirement, i) => {
    const p = `${path}.matchExpressions[${i}]`;
    if (!expr || typeof expr !== 'object') {
      errs.push(invalidValue(p, expr, 'must be an object'));
      return;
    }
    const values: unknown = expr.values;
    const list = Array.isArray(values) ? values : [];
    switch (expr.operator) {
      case 'In':
      case 'NotIn':
        if (list.length === 0) errs.push(required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (list.length > 0) errs.push(forbidden(`${p}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
        break;
      default:
        errs.push(invalidValue(`${p}.operator`, expr.operator, 'not a valid selector operator'));
    }
    const key = typeof expr.key === 'string' ? expr.key : '';
    for (const m of qualifiedNameErrors(key)) errs.push(invalidValue(`${p}.key`, expr.key, m));
    if (values !== undefined && values !== null && !Array.isArray(values)) errs.push(invalidValue(`${p}.values`, values, 'must be a list'));
    list.forEach((v: unknown, j) => {
      if (typeof v !== 'string') errs.push(invalidValue(`${p}.values[${j}]`, v, 'must be a string'));
      else for (const m of labelValueErrors(v)) errs.push(invalidValue(`${p}.values[${j}]`, v, m));
    });
  });
  return errs;
}
