// splitLines: watch bodies cut into lines however the chunks fall.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitLines } from '../../src/client/transport.js';

async function lines(chunks: (string | Buffer)[]): Promise<string[]> {
  async function* src() {
    for (const c of chunks) yield typeof c === 'string' ? Buffer.from(c) : c;
  }
  const out: string[] = [];
  for await (const l of splitLines(src(), () => false)) out.push(l);
  return out;
}

describe('splitLines', () => {
  it('joins lines across chunks, drops blank lines, trims CR and spaces, keeps a last line without newline', async () => {
    assert.deepEqual(await lines(['{"a":1}\n{"b"', ':2}\n\n', '  {"c":3} \r\n', '{"d"', ':4', '}\n{"e":5}']), ['{"a":1}', '{"b":2}', '{"c":3}', '{"d":4}', '{"e":5}']);
  });

  it('keeps a multi-byte character split between chunks', async () => {
    const b = Buffer.from('{"n":"é€"}\n');
    assert.deepEqual(await lines([b.subarray(0, 7), b.subarray(7, 9), b.subarray(9)]), ['{"n":"é€"}']);
  });

  it('splits many lines in one chunk', async () => {
    const text = Array.from({ length: 100 }, (_, i) => `{"i":${i}}`).join('\n') + '\n';
    const got = await lines([text]);
    assert.equal(got.length, 100);
    assert.equal(got[99], '{"i":99}');
  });
});
