// Pieces of HTTP/1.1 head parsing shared by the fast path's request side and the endpoint pool's response
// side: they work on positions in the head's text, so nothing is cut out of it for a header that does not matter.

/** A name, a colon and a value without control characters (HTAB allowed), then CRLF; as many lines as there are. */
export const HEADER_LINES = /(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[^\x00-\x08\x0a-\x1f\x7f]*\r\n)*$/y;

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

/** Does the comma-separated value text[start, end) hold `token` (lower case), ignoring ASCII case? */
export function hasToken(text: string, start: number, end: number, token: string): boolean {
  for (let from = start; from <= end; ) {
    let to = text.indexOf(',', from);
    if (to < 0 || to > end) to = end;
    let a = from;
    let b = to;
    while (a < b && isOws(text.charCodeAt(a))) a++;
    while (b > a && isOws(text.charCodeAt(b - 1))) b--;
    if (isName(text, a, b, token)) return true;
    from = to + 1;
  }
  return false;
}

/** [start, end) less the spaces and tabs at either end of text[start, end). */
export function trimmedRange(text: string, start: number, end: number): [number, number] {
  while (start < end && isOws(text.charCodeAt(start))) start++;
  while (end > start && isOws(text.charCodeAt(end - 1))) end--;
  return [start, end];
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
