// Field selectors (`?fieldSelector=status.phase=Running,metadata.name!=x`), as upstream's
// fields.ParseSelector: only =, == and !=; `\`, `,` and `=` in values are backslash-escaped.
import { errBadRequest } from './errors.js';

export type FieldOperator = 'Equals' | 'DoubleEquals' | 'NotEquals';

export interface FieldRequirement {
  field: string;
  operator: FieldOperator;
  value: string;
}

/** Splits on commas that are not backslash-escaped; escapes stay in the terms. */
function splitTerms(selector: string): string[] {
  if (selector.length === 0) return [];
  const terms: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (inSlash) inSlash = false;
    else if (c === '\\') inSlash = true;
    else if (c === ',') {
      terms.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(selector.slice(start));
  return terms;
}

const TERM_OPERATORS: [string, FieldOperator][] = [
  ['!=', 'NotEquals'],
  ['==', 'DoubleEquals'],
  ['=', 'Equals'],
];

/** Splits at the first operator; field names have no escaping. */
function splitTerm(term: string): [string, FieldOperator, string] | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const [text, op] of TERM_OPERATORS) {
      if (term.startsWith(text, i)) return [term.slice(0, i), op, term.slice(i + text.length)];
    }
  }
  return undefined;
}

function unescapeValue(s: string): string {
  if (!/[\\,=]/.test(s)) return s;
  let out = '';
  let inSlash = false;
  for (const c of s) {
    if (inSlash) {
      if (c !== '\\' && c !== ',' && c !== '=') throw new Error(`invalid field selector: invalid escape sequence: \\${c}`);
      out += c;
      inSlash = false;
    } else if (c === '\\') {
      inSlash = true;
    } else if (c === ',' || c === '=') {
      // upstream prints the rune with %v, i.e. its code point
      throw new Error(`invalid field selector: unescapedRune character in value: ${c.codePointAt(0)}`);
    } else {
      out += c;
    }
  }
  if (inSlash) throw new Error('invalid field selector: invalid escape sequence: \\');
  return out;
}

/**
 * Parses a field selector; terms come back sorted as upstream sorts them. Field names are not
 * checked here (see unsupportedFields). Throws a 400 BadRequest StatusError when malformed.
 */
export function parseFieldSelector(s: string): FieldRequirement[] {
  const reqs: FieldRequirement[] = [];
  for (const part of splitTerms(s).sort()) {
    if (part === '') continue;
    const split = splitTerm(part);
    if (!split) throw errBadRequest(`invalid selector: '${s}'; can't understand '${part}'`);
    const [field, operator, raw] = split;
    let value: string;
    try {
      value = unescapeValue(raw);
    } catch (e) {
      throw errBadRequest((e as Error).message);
    }
    reqs.push({ field, operator, value });
  }
  return reqs;
}

/** True when every requirement holds; a field the object does not have counts as "". */
export function fieldsMatch(reqs: FieldRequirement[], fields: Record<string, string>): boolean {
  for (const r of reqs) {
    const actual = Object.prototype.hasOwnProperty.call(fields, r.field) ? fields[r.field] : '';
    if ((r.operator === 'NotEquals') === (actual === r.value)) return false;
  }
  return true;
}

/** The field names (each once, in order) a kind does not support; the API server answers 400 `field label not supported: <name>`. */
export function unsupportedFields(reqs: FieldRequirement[], allowed: Set<string>): string[] {
  const out: string[] = [];
  for (const r of reqs) if (!allowed.has(r.field) && !out.includes(r.field)) out.push(r.field);
  return out;
}

/** Escapes a value for a field selector term (upstream fields.EscapeValue). */
export const escapeFieldValue = (v: string): string => v.replace(/[\\,=]/g, (c) => `\\${c}`);

/** The string form of parsed requirements, e.g. `metadata.name=a,status.phase!=Running`. */
export function formatFieldSelector(reqs: FieldRequirement[]): string {
  const op: Record<FieldOperator, string> = { Equals: '=', DoubleEquals: '==', NotEquals: '!=' };
  return reqs.map((r) => `${r.field}${op[r.operator]}${escapeFieldValue(r.value)}`).join(',');
}
