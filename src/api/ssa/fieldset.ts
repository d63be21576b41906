// Sets of field paths, as server-side apply tracks ownership, and their FieldsV1 wire form.
// A path element is kept in its FieldsV1 spelling, which is also its identity:
//   `f:<name>`      a struct field or map key
//   `k:{"name":"c"}` an associative list item, by its key fields (sorted, JSON)
//   `v:"value"`     an item of a set-like list of primitives
//   `i:<n>`         a list item by position (read from clients; we never produce it)
import { isPlainObject } from '../object.js';

/** A path from the object's root: path elements in FieldsV1 spelling. */
export type FieldPath = readonly string[];

/** JSON as Go's encoding/json writes it (HTML-sensitive characters escaped). */
export function goJSON(v: unknown): string {
  const s = JSON.stringify(v);
  return HTML_SENSITIVE.test(s) ? s.replace(HTML_SENSITIVE_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : s;
}
const HTML_SENSITIVE = /[<>&\u2028\u2029]/;
const HTML_SENSITIVE_ALL = /[<>&\u2028\u2029]/g;

/** A bounded memo: parsing path elements is the hot part of reading managedFields on every write. */
function memo<T>(max: number, fn: (k: string) => T): (k: string) => T {
  const cache = new Map<string, T>();
  return (k) => {
    let v = cache.get(k);
    if (v === undefined) {
      v = fn(k);
      if (cache.size >= max) cache.clear();
      cache.set(k, v);
    }
    return v;
  };
}

/** `f:<name>`, one string per name: compare and the walkers make one for every field they pass. */
export const fieldElement = memo(50_000, (name: string): string => `f:${name}`);

/** `k:` element of a list item from its key fields (any order; written sorted by name). */
export function keyElement(key: Readonly<Record<string, unknown>>): string {
  const names = Object.keys(key);
  if (names.length > 1) names.sort();
  return `k:{${names.map((n) => `${goJSON(n)}:${goJSON(key[n])}`).join(',')}}`;
}

export const valueElement = (v: unknown): string => `v:${goJSON(v)}`;

/** The canonical spelling of a path element read from a client; throws an Error when malformed. */
export const canonicalElement = memo(20_000, (pe: string): string => (pe.startsWith('f:') ? pe : canonicalize(pe)));

function canonicalize(pe: string): string {
  const kind = pe.slice(0, 2);
  const rest = pe.slice(2);
  switch (kind) {
    case 'f:':
      return pe;
    case 'k:': {
      const key: unknown = JSON.parse(rest);
      if (!isPlainObject(key)) throw new Error(`invalid key path element ${JSON.stringify(pe)}`);
      return keyElement(key);
    }
    case 'v:':
      return valueElement(JSON.parse(rest));
    case 'i:':
      if (!/^-?[0-9]+$/.test(rest)) throw new Error(`invalid index path element ${JSON.stringify(pe)}`);
      return `i:${Number(rest)}`;
    default:
      throw new Error(`invalid path element ${JSON.stringify(pe)}`);
  }
}

const KIND_ORDER: Record<string, number> = { 'f:': 0, 'k:': 1, 'v:': 2, 'i:': 3 };

function valueRank(v: unknown): number {
  if (typeof v === 'number') return 0;
  if (typeof v === 'string') return 1;
  if (typeof v === 'boolean') return 2;
  return 3;
}

function compareValues(a: unknown, b: unknown): number {
  const ra = valueRank(a);
  const rb = valueRank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  const sa = typeof a === 'string' ? a : goJSON(a);
  const sb = typeof b === 'string' ? b : goJSON(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

const keyEntries = memo(20_000, (pe: string) => Object.entries(JSON.parse(pe.slice(2)) as Record<string, unknown>));

/** Upstream's path element order: fields by name, then keyed items, then values, then indices. */
export function compareElements(a: string, b: string): number {
  const pa = a.slice(0, 2);
  const pb = b.slice(0, 2);
  if (pa === 'f:' && pb === 'f:') return a < b ? -1 : a > b ? 1 : 0;
  const ka = KIND_ORDER[pa] ?? 4;
  const kb = KIND_ORDER[pb] ?? 4;
  if (ka !== kb) return ka - kb;
  const ra = a.slice(2);
  const rb = b.slice(2);
  switch (pa) {
    case 'k:': {
      const ea = keyEntries(a);
      const eb = keyEntries(b);
      for (let i = 0; i < Math.min(ea.length, eb.length); i++) {
        if (ea[i][0] !== eb[i][0]) return ea[i][0] < eb[i][0] ? -1 : 1;
        const c = compareValues(ea[i][1], eb[i][1]);
        if (c !== 0) return c;
      }
      return ea.length - eb.length;
    }
    case 'v:':
      return compareValues(JSON.parse(ra), JSON.parse(rb));
    case 'i:':
      return Number(ra) - Number(rb);
    default:
      return ra < rb ? -1 : ra > rb ? 1 : 0;
  }
}

/** One path element as upstream prints it in conflict messages: `.name`, `[name="c"]`, `[="v"]`, `[0]`. */
export function elementString(pe: string): string {
  const rest = pe.slice(2);
  switch (pe.slice(0, 2)) {
    case 'f:':
      return `.${rest}`;
    case 'k:': {
      const key = JSON.parse(rest) as Record<string, unknown>;
      return `[${Object.entries(key)
        .map(([k, v]) => `${k}=${printValue(v)}`)
        .join(',')}]`;
    }
    case 'v:':
      return `[=${printValue(JSON.parse(rest))}]`;
    case 'i:':
      return `[${rest}]`;
    default:
      return '{{invalid path element}}';
  }
}

function printValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(printValue).join(',')}]`;
  if (isPlainObject(v)) return Object.entries(v).map(([k, x]) => `${k}=${printValue(x)}`).join('');
  return String(v);
}

export const pathString = (path: FieldPath): string => path.map(elementString).join('');

/**
 * A set of paths, as a trie: `members` are the elements of this node that are in the set themselves;
 * `children` hold the (never empty) sets below an element (an element may be both). Operations return
 * new sets and may share unchanged parts, so a set is not changed once built.
 */
export class FieldSet {
  readonly members = new Set<string>();
  readonly children = new Map<string, FieldSet>();

  static of(...paths: FieldPath[]): FieldSet {
    const s = new FieldSet();
    for (const p of paths) s.insert(p);
    return s;
  }

  /** Adds a path while the set is being built. */
  insert(path: FieldPath, from = 0): void {
    if (path.length <= from) return;
    if (path.length === from + 1) {
      this.members.add(path[from]);
      return;
    }
    let c = this.children.get(path[from]);
    if (!c) {
      c = new FieldSet();
      this.children.set(path[from], c);
    }
    c.insert(path, from + 1);
  }

  /** Attaches `set` below `pe` when it holds anything (merging with what is there). */
  attach(pe: string, set: FieldSet): void {
    if (set.empty()) return;
    const cur = this.children.get(pe);
    this.children.set(pe, cur ? cur.union(set) : set);
  }

  has(path: FieldPath): boolean {
    let node: FieldSet | undefined = this;
    for (let i = 0; i < path.length - 1 && node; i++) node = node.children.get(path[i]);
    return !!node && path.length > 0 && node.members.has(path[path.length - 1]);
  }

  empty(): boolean {
    return this.members.size === 0 && this.children.size === 0;
  }

  union(o: FieldSet): FieldSet {
    if (o.empty()) return this;
    if (this.empty()) return o;
    const out = new FieldSet();
    for (const m of this.members) out.members.add(m);
    for (const m of o.members) out.members.add(m);
    for (const [pe, c] of this.children) {
      const oc = o.children.get(pe);
      out.children.set(pe, oc ? c.union(oc) : c);
    }
    for (const [pe, c] of o.children) if (!this.children.has(pe)) out.children.set(pe, c);
    return out;
  }

  /** Whether the two sets share a member (without building their intersection). */
  intersects(o: FieldSet): boolean {
    const [small, big] = this.members.size <= o.members.size ? [this.members, o.members] : [o.members, this.members];
    for (const m of small) if (big.has(m)) return true;
    const [a, b] = this.children.size <= o.children.size ? [this.children, o.children] : [o.children, this.children];
    for (const [pe, c] of a) {
      const oc = b.get(pe);
      if (oc && c.intersects(oc)) return true;
    }
    return false;
  }

  intersection(o: FieldSet): FieldSet {
    const out = new FieldSet();
    if (this.empty() || o.empty()) return out;
    for (const m of this.members) if (o.members.has(m)) out.members.add(m);
    for (const [pe, c] of this.children) {
      const oc = o.children.get(pe);
      if (oc) out.attach(pe, c.intersection(oc));
    }
    return out;
  }

  /** Members of this set not in `o` (a member of `o` does not remove what is below it). */
  difference(o: FieldSet): FieldSet {
    if (o.empty() || this.empty()) return this;
    const out = new FieldSet();
    let same = true;
    for (const m of this.members) {
      if (!o.members.has(m)) out.members.add(m);
      else same = false;
    }
    for (const [pe, c] of this.children) {
      const oc = o.children.get(pe);
      const d = oc ? c.difference(oc) : c;
      if (d !== c) same = false;
      out.attach(pe, d);
    }
    return same ? this : out;
  }

  /** Like difference, but a member of `o` also removes everything below it. */
  recursiveDifference(o: FieldSet): FieldSet {
    if (o.empty() || this.empty()) return this;
    const out = new FieldSet();
    let same = true;
    for (const m of this.members) {
      if (!o.members.has(m)) out.members.add(m);
      else same = false;
    }
    for (const [pe, c] of this.children) {
      if (o.members.has(pe)) {
        same = false;
        continue;
      }
      const oc = o.children.get(pe);
      const d = oc ? c.recursiveDifference(oc) : c;
      if (d !== c) same = false;
      out.attach(pe, d);
    }
    return same ? this : out;
  }

  equals(o: FieldSet): boolean {
    if (this === o) return true;
    if (this.members.size !== o.members.size || this.children.size !== o.children.size) return false;
    for (const m of this.members) if (!o.members.has(m)) return false;
    for (const [pe, c] of this.children) {
      const oc = o.children.get(pe);
      if (!oc || !c.equals(oc)) return false;
    }
    return true;
  }

  /** Every member path, in upstream's order. */
  paths(): FieldPath[] {
    const out: FieldPath[] = [];
    const walk = (s: FieldSet, prefix: string[]) => {
      const pes = new Set<string>([...s.members, ...s.children.keys()]);
      for (const pe of [...pes].sort(compareElements)) {
        if (s.members.has(pe)) out.push([...prefix, pe]);
        const c = s.children.get(pe);
        if (c) walk(c, [...prefix, pe]);
      }
    };
    walk(this, []);
    return out;
  }

  /** The FieldsV1 JSON object of this set. */
  toFieldsV1(): Record<string, unknown> {
    return this.encode(false);
  }

  private encode(includeSelf: boolean): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (includeSelf) out['.'] = {};
    const pes = this.elements();
    for (let i = 0; i < pes.length; i++) {
      const pe = pes[i];
      const c = this.children.get(pe);
      out[pe] = c ? c.encode(this.members.has(pe)) : {};
    }
    return out;
  }

  /** The elements of this node (members and those with children), in upstream's order. */
  private elements(): string[] {
    const pes: string[] = [];
    let fieldsOnly = true;
    for (const pe of this.members) {
      pes.push(pe);
      if (fieldsOnly && !pe.startsWith('f:')) fieldsOnly = false;
    }
    for (const pe of this.children.keys()) {
      if (this.members.has(pe)) continue;
      pes.push(pe);
      if (fieldsOnly && !pe.startsWith('f:')) fieldsOnly = false;
    }
    // fields alone sort by name: compareElements' order, without calling it
    if (pes.length > 1) pes.sort(fieldsOnly ? undefined : compareElements);
    return pes;
  }

  /** Reads FieldsV1 JSON; throws an Error when it is not well formed. */
  static fromFieldsV1(v: unknown): FieldSet {
    if (v === undefined || v === null) return new FieldSet();
    if (!isPlainObject(v)) throw new Error('FieldsV1 must be a JSON object');
    const out = new FieldSet();
    for (const key in v) {
      if (key === '.') continue;
      const sub = v[key];
      if (!isPlainObject(sub)) throw new Error(`FieldsV1 entry ${JSON.stringify(key)} must be a JSON object`);
      const pe = canonicalElement(key);
      let self = false;
      let more = false;
      for (const k in sub) {
        if (k === '.') self = true;
        else more = true;
      }
      if (self || !more) out.members.add(pe);
      if (more) out.attach(pe, FieldSet.fromFieldsV1(sub));
    }
    return out;
  }
}
