// The field manager named by a User-Agent: its part before the first `/`, printable characters only, at
// most 128 bytes; printable ASCII takes a shortcut that must give the same answer.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { managerFromUserAgent } from '../../src/apiserver/fieldmanager.js';

/** The rule spelled out character by character (Go's unicode.IsPrint, 128-byte cap). */
function reference(ua: string | undefined): string {
  let out = '';
  let bytes = 0;
  for (const ch of (ua ?? '').split('/')[0]) {
    if (!/^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u.test(ch)) continue;
    const n = Buffer.byteLength(ch);
    if (bytes + n > 128) break;
    out += ch;
    bytes += n;
  }
  return out;
}

describe('managerFromUserAgent', () => {
  it('takes the part before the first slash', () => {
    assert.equal(managerFromUserAgent('kubectl/v1.33.0 (linux/amd64) kubernetes/abc'), 'kubectl');
    assert.equal(managerFromUserAgent('Go-http-client/1.1'), 'Go-http-client');
    assert.equal(managerFromUserAgent('wrk'), 'wrk');
    assert.equal(managerFromUserAgent(undefined), '');
    assert.equal(managerFromUserAgent(''), '');
  });

  it('drops unprintable characters and caps the length at 128 bytes, as before', () => {
    const cases = [
      'tab\there/1',
      'a\u0000b\u007fc',
      'x'.repeat(200),
      `${'x'.repeat(128)}/v1`,
      `${'x'.repeat(129)}/v1`,
      'é'.repeat(70),
      'café client/2',
      '😀 emoji',
      ' spaced out ',
      '~!@#$%^&*()_+`-=[]{}|;\':",.<>?',
      `${'a'.repeat(127)}é`,
    ];
    for (let c = 0; c < 0x80; c++) cases.push(`a${String.fromCharCode(c)}b`);
    for (const ua of cases) assert.equal(managerFromUserAgent(ua), reference(ua), JSON.stringify(ua));
    assert.equal(managerFromUserAgent('x'.repeat(200)).length, 128);
    assert.equal(managerFromUserAgent('a\tb'), 'ab');
  });
});
