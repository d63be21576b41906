// Pieces of HTTP/1.1 head parsing shared by the fast path's request side and the endpoint pool's response
// side: they work on positions in the head's text, so nothing is cut out of it for a header that does not matter.

/** A name, a colon and a value without control characters (HTAB allowed), then CRLF; as many lines as there are. */
export const HEADER_LINES = /(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[^\x00-\x08\x0a-\x1f\x7f]*\r\n)*$/y;

/**
 * The header lines of a head (checked by HEADER_LINES, each ending in CRLF), one after the other; the ones
 * not dropped are passed on as the runs of the text between the dropped ones.
 */
export class HeaderLines {
  /** the current line: its start, its colon, its CRLF */
  lineStart = 0;
  colon = 0;
  end = 0;
  private next_: number;
  private lines = '';
  private from: number;

  constructor(
    private readonly text: string,
    private readonly first: number,
  ) {
    this.from = first;
    this.next_ = first;
  }

  /** Moves to the next line; false after the last. */
  next(): boolean {
    const { text } = this;
    if (this.next_ >= text.length) return false;
    this.lineStart = this.next_;
    this.end = text.indexOf('\r\n', this.lineStart);
    this.colon = text.indexOf(':', this.lineStart);
    this.next_ = this.end + 2;
    return true;
  }

  /** Leaves the current line out of the lines passed on. */
  drop(): void {
    if (this.lineStart > this.from) this.lines += this.text.slice(this.from, this.lineStart);
    this.from = this.next_;
  }

  /** The lines passed on. */
  kept(): string {
    const { text, from } = this;
    if (from >= text.length) return this.lines;
    return from === this.first ? text.slice(from) : this.lines + text.slice(from);
  }
}

/** Is text[start, end) `lower`, ignoring ASCII case? */
export function isName(text: string, start: number, end: number, lower: string): boolean {
  if (end - start !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    let c = text.charCodeAt(start + i);
    if (c >= 65 && c <= 90) c |= 0x20;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

const isOws = (c: number) => c === 32 || c === 9;

/** What a Connection value lists (bits; names compared ignoring ASCII case): `close`, `upgrade`, `keep-alive`, any other name. */
export const CLOSE = 1;
export const UPGRADE = 2;
export const KEEP_ALIVE = 4;
export const OTHER = 8;

/** The CLOSE / UPGRADE / KEEP_ALIVE / OTHER bits for the comma-separated value text[start, end), in one pass. */
export function connectionTokens(text: string, start: number, end: number): number {
  let found = 0;
  for (let from = start; from <= end; ) {
    let to = text.indexOf(',', from);
    if (to < 0 || to > end) to = end;
    let a = from;
    let b = to;
    while (a < b && isOws(text.charCodeAt(a))) a++;
    while (b > a && isOws(text.charCodeAt(b - 1))) b--;
    if (a < b) {
      if (isName(text, a, b, 'close')) found |= CLOSE;
      else if (isName(text, a, b, 'keep-alive')) found |= KEEP_ALIVE;
      else if (isName(text, a, b, 'upgrade')) found |= UPGRADE;
      else found |= OTHER;
    }
    from = to + 1;
  }
  return found;
}

/** Is text[start, end), less the spaces and tabs around it, `lower` (ignoring ASCII case)? */
export function isTrimmedName(text: string, start: number, end: number, lower: string): boolean {
  while (start < end && isOws(text.charCodeAt(start))) start++;
  while (end > start && isOws(text.charCodeAt(end - 1))) end--;
  return isName(text, start, end, lower);
}

/**
 * The header names a Connection value lists (lower case), added to `into`: those headers are for this
 * connection only (RFC 9110 §7.6.1). Not `close` / `keep-alive`, and never Content-Length (the body's framing).
 */
export function connectionOptions(value: string, into: Set<string> | undefined): Set<string> | undefined {
  for (const part of value.split(',')) {
    const name = trimmed(part, 0, part.length).toLowerCase();
    if (name === '' || name === 'close' || name === 'keep-alive' || name === 'content-length') continue;
    (into ??= new Set()).add(name);
  }
  return into;
}

/** text[start, end) without the spaces and tabs around it. */
export function trimmed(text: string, start: number, end: number): string {
  while (start < end && isOws(text.charCodeAt(start))) start++;
  while (end > start && isOws(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

/** The decimal number text[start, end) (spaces and tabs around it allowed); -1 when it is not one. */
export function decimal(text: string, start: number, end: number): number {
  while (start < end && isOws(text.charCodeAt(start))) start++;
  while (end > start && isOws(text.charCodeAt(end - 1))) end--;
  if (start === end || end - start > 15) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}
