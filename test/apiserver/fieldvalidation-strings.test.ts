// The strict JSON scan reads string tokens by jumping to the next quote and backslash: escaped quotes and
// backslashes, long values and keys that are only equal once unescaped must read exactly as JSON does.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { builtinSchema, schemaForKind } from '../../src/api/schema/index.js';
import { scanJSONStrict, strictErrorText } from '../../src/apiserver/fieldvalidation.js';

const schema = builtinSchema();
const CM = schemaForKind('v1', 'ConfigMap');
const scan = (text: string) => {
  JSON.parse(text); // the scanner's input is valid JSON
  return scanJSONStrict(text, schema, CM).map(strictErrorText);
};

describe('strict JSON scan of strings', () => {
  it('finds unknown and duplicate fields after values with escaped quotes and backslashes', () => {
    const text = JSON.stringify({ metadata: { name: 'a', annotations: { q: 'say "hi" \\ and \\"', b: '\\\\\\' } }, data: { k: `${'x'.repeat(5000)}"\\` } }).replace(/}$/, ',"bogus":"\\"}\\\\","data":{}}');
    assert.deepEqual(scan(text), ['unknown field "bogus"', 'duplicate field "data"']);
  });

  it('compares keys by their unescaped value', () => {
    assert.deepEqual(scan('{"data":{"a\\"b":"1","a\\u0022b":"2","c\\\\":"3","c\\u005c":"4","plain":"\\\\","plain":"x"}}'), [
      'duplicate field "data.a\\"b"',
      'duplicate field "data.c\\\\"',
      'duplicate field "data.plain"',
    ]);
  });

  it('matches JSON.parse on every key of random strings with quotes, backslashes and unicode', () => {
    const alphabet = ['a', '"', '\\', '/', '\n', 'é', '😀', ' ', '}', ',', ':'];
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    for (let round = 0; round < 200; round++) {
      const keys: string[] = [];
      for (let k = 0; k < 5; k++) keys.push(Array.from({ length: 1 + rnd(12) }, () => alphabet[rnd(alphabet.length)]).join(''));
      // one key repeated, spelled with \u escapes only
      const dup = keys[rnd(keys.length)];
      const spelled = `"${Array.from({ length: dup.length }, (_, i) => `\\u${dup.charCodeAt(i).toString(16).padStart(4, '0')}`).join('')}"`;
      const body = `{"data":{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(k + '\\"')}`).join(',')},${spelled}:"v"},"extra":1}`;
      const want = [...new Set(keys.filter((k, i) => keys.indexOf(k) !== i).concat(dup))]
        .sort((p, q) => body.indexOf(JSON.stringify(p)) - body.indexOf(JSON.stringify(q)))
        .map((k) => `duplicate field ${JSON.stringify(`data.${k}`)}`);
      const got = scan(body);
      assert.equal(got[got.length - 1], 'unknown field "extra"', body);
      assert.deepEqual(new Set(got.slice(0, -1)), new Set(want), body);
    }
  });
});
