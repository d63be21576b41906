import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StatusError } from '../../src/api/errors.js';
import { negotiate } from '../../src/apiserver/negotiate.js';

const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';

describe('negotiate', () => {
  it('answers JSON without an Accept header or for */*', () => {
    assert.equal(negotiate(undefined).format, 'json');
    assert.equal(negotiate('*/*').format, 'json');
  });

  it('takes the highest q first, and gives the same answer for a repeated header', () => {
    for (let i = 0; i < 3; i++) {
      assert.equal(negotiate('application/json;q=0.5, application/yaml').format, 'yaml');
      assert.equal(negotiate('application/yaml;q=0.1, application/json;q=0.9').format, 'json');
    }
  });

  it("converts to Table only where the endpoint can, else takes kubectl's fallback", () => {
    assert.equal(negotiate(TABLE, ['Table']).as, 'Table');
    const plain = negotiate(TABLE, []);
    assert.equal(plain.as, undefined);
    assert.equal(plain.format, 'json');
  });

  it('refuses a type it cannot produce with 406', () => {
    for (let i = 0; i < 2; i++)
      assert.throws(
        () => negotiate('text/html'),
        (e: unknown) => e instanceof StatusError && e.code === 406,
      );
  });
});
