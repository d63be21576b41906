// Content negotiation: what the client sent (Content-Type) and what it accepts (Accept).
import { parse as parseYAML, stringify as stringifyYAML } from 'yaml';
import { errBadRequest, errNotAcceptable, errUnsupportedMediaType } from '../api/errors.js';

export type Target = 'Table' | 'PartialObjectMetadata' | 'PartialObjectMetadataList';

export interface Negotiated {
  format: 'json' | 'yaml';
  /** a conversion the client asked for with `;as=…;g=meta.k8s.io` */
  as?: Target;
  contentType: string;
}

interface MediaRange {
  type: string;
  params: Record<string, string>;
  q: number;
}

// Clients send the same few Accept headers again and again: each is parsed once (results only read).
const parsedAccepts = new Map<string, readonly MediaRange[]>();
const MAX_PARSED_ACCEPTS = 256;

function parseAccept(accept: string): readonly MediaRange[] {
  let ranges = parsedAccepts.get(accept);
  if (!ranges) {
    ranges = parseAcceptText(accept);
    if (accept.length <= 512) {
      if (parsedAccepts.size >= MAX_PARSED_ACCEPTS) parsedAccepts.clear();
      parsedAccepts.set(accept, ranges);
    }
  }
  return ranges;
}

function parseAcceptText(accept: string): MediaRange[] {
  const out: MediaRange[] = [];
  for (const part of accept.split(',')) {
    const [type, ...ps] = part.split(';').map((s) => s.trim());
    if (!type) continue;
    const params: Record<string, string> = {};
    for (const p of ps) {
      const i = p.indexOf('=');
      if (i > 0) params[p.slice(0, i).trim().toLowerCase()] = p.slice(i + 1).trim();
    }
    const q = params.q !== undefined ? Number(params.q) : 1;
    out.push({ type: type.toLowerCase(), params, q: Number.isFinite(q) ? q : 1 });
  }
  // stable sort by q, highest first
  return out.map((m, i) => ({ m, i })).sort((a, b) => b.m.q - a.m.q || a.i - b.i).map((x) => x.m);
}

const JSON_NEG: Negotiated = { format: 'json', contentType: 'application/json' };

/**
 * Picks the response form. `targets` lists the conversions this endpoint can do (Table for get/list,
 * PartialObjectMetadata(List) everywhere objects are returned).
 */
export function negotiate(accept: string | undefined, targets: readonly Target[] = []): Negotiated {
  if (!accept) return JSON_NEG;
  const ranges = parseAccept(accept);
  if (!ranges.length) return JSON_NEG;
  for (const r of ranges) {
    if (r.q <= 0) continue;
    const as = r.params.as;
    if (as) {
      const g = r.params.g;
      const v = r.params.v;
      if (g === 'meta.k8s.io' && (v === 'v1' || v === 'v1beta1') && targets.includes(as as Target) && (r.type === 'application/json' || r.type === 'application/yaml'))
        return { format: r.type === 'application/yaml' ? 'yaml' : 'json', as: as as Target, contentType: r.type };
      continue;
    }
    if (r.type === 'application/json' || r.type === '*/*' || r.type === 'application/*') return JSON_NEG;
    if (r.type === 'application/yaml') return { format: 'yaml', contentType: 'application/yaml' };
  }
  throw errNotAcceptable('only the following media types are accepted: application/json, application/yaml');
}

export type BodyFormat = 'json' | 'yaml' | 'merge-patch' | 'json-patch' | 'strategic-merge-patch' | 'apply-patch' | 'protobuf';

export function bodyFormat(contentType: string | undefined): BodyFormat {
  const t = (contentType ?? '').split(';')[0].trim().toLowerCase();
  switch (t) {
    case '':
    case 'application/json':
      return 'json';
    case 'application/yaml':
    case 'application/x-yaml':
    case 'text/yaml':
      return 'yaml';
    case 'application/merge-patch+json':
      return 'merge-patch';
    case 'application/json-patch+json':
      return 'json-patch';
    case 'application/strategic-merge-patch+json':
      return 'strategic-merge-patch';
    case 'application/apply-patch+yaml':
    case 'application/apply-patch+cbor':
      return 'apply-patch';
    case 'application/vnd.kubernetes.protobuf':
      return 'protobuf';
    default:
      throw errUnsupportedMediaType(t);
  }
}

/** Parses a JSON or YAML request body into a value; malformed input is a 400, never a crash. */
export function decodeBody(buf: Buffer, fmt: BodyFormat): unknown {
  const text = buf.toString('utf8');
  let out: unknown;
  if (fmt === 'yaml' || fmt === 'apply-patch') {
    try {
      out = parseYAML(text, { uniqueKeys: false, maxAliasCount: 100, logLevel: 'error' }) as unknown;
    } catch (e) {
      throw errBadRequest(`error converting YAML to JSON: ${(e as Error).message.split('\n')[0]}`);
    }
  } else {
    if (text.trim() === '') throw errBadRequest('the body of the request was empty');
    try {
      out = JSON.parse(text) as unknown;
    } catch (e) {
      throw errBadRequest(`the body of the request could not be decoded as JSON: ${(e as Error).message}`);
    }
  }
  const yaml = fmt === 'yaml' || fmt === 'apply-patch';
  if (yaml || buf.length > 2 * MAX_BODY_DEPTH) {
    const shape = bodyShape(out, MAX_BODY_DEPTH);
    // the recursive code that handles objects would overflow the stack on absurdly deep ones
    if (shape.tooDeep) throw errBadRequest(`the body of the request is nested more than ${MAX_BODY_DEPTH} levels deep`);
    // YAML tags such as !!binary, !!set or !!timestamp make values JSON has no word for
    if (shape.exotic) out = JSON.parse(JSON.stringify(out)) as unknown;
  }
  return out;
}

const MAX_BODY_DEPTH = 500;

function bodyShape(value: unknown, max: number): { tooDeep: boolean; exotic: boolean } {
  let exotic = false;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (d >= max) return { tooDeep: true, exotic };
    const array = Array.isArray(v);
    if (!array && Object.getPrototypeOf(v) !== Object.prototype && Object.getPrototypeOf(v) !== null) {
      exotic = true;
      continue;
    }
    for (const c of array ? v : Object.values(v)) if (c !== null && typeof c === 'object') stack.push([c, d + 1]);
  }
  return { tooDeep: false, exotic };
}

export function encode(value: unknown, neg: Negotiated): string {
  return neg.format === 'yaml' ? stringifyYAML(value) : JSON.stringify(value);
}
