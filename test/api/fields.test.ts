import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StatusError } from '../../src/api/errors.js';
import {
  escapeFieldValue,
  fieldsMatch,
  formatFieldSelector,
  parseFieldSelector,
  unsupportedFields,
} from '../../src/api/fields.js';

function parseError(s: string): StatusError {
  try {
    parseFieldSelector(s);
  } catch (e) {
    assert.ok(e instanceof StatusError);
    assert.equal(e.code, 400);
    assert.equal(e.reason, 'BadRequest');
    return e;
  }
  assert.fail(`expected ${JSON.stringify(s)} to be rejected`);
}

describe('parseFieldSelector', () => {
  it('parses =, == and !=', () => {
    assert.deepEqual(parseFieldSelector('status.phase=Running'), [{ field: 'status.phase', operator: 'Equals', value: 'Running' }]);
    assert.deepEqual(parseFieldSelector('metadata.name==web'), [{ field: 'metadata.name', operator: 'DoubleEquals', value: 'web' }]);
    assert.deepEqual(parseFieldSelector('spec.nodeName!=n1'), [{ field: 'spec.nodeName', operator: 'NotEquals', value: 'n1' }]);
  });

  it('splits on commas, sorts terms and skips empty ones', () => {
    assert.deepEqual(parseFieldSelector('status.phase!=Failed,metadata.name=a'), [
      { field: 'metadata.name', operator: 'Equals', value: 'a' },
      { field: 'status.phase', operator: 'NotEquals', value: 'Failed' },
    ]);
    assert.deepEqual(parseFieldSelector(''), []);
    assert.deepEqual(parseFieldSelector(',a=b,'), [{ field: 'a', operator: 'Equals', value: 'b' }]);
  });

  it('allows an empty value', () => {
    assert.deepEqual(parseFieldSelector('spec.nodeName='), [{ field: 'spec.nodeName', operator: 'Equals', value: '' }]);
  });

  it('unescapes \\\\, \\, and \\= in values', () => {
    assert.deepEqual(parseFieldSelector('metadata.name=a\\,b'), [{ field: 'metadata.name', operator: 'Equals', value: 'a,b' }]);
    assert.equal(parseFieldSelector('a=b\\=c')[0].value, 'b=c');
    assert.equal(parseFieldSelector('a=b\\\\')[0].value, 'b\\');
    assert.equal(parseFieldSelector('a!=x\\,y,b=z').length, 2);
  });

  it('rejects terms without an operator and bad escapes, as upstream words it', () => {
    assert.equal(parseError('status.phase').message, "invalid selector: 'status.phase'; can't understand 'status.phase'");
    assert.equal(parseError('a=b,c').message, "invalid selector: 'a=b,c'; can't understand 'c'");
    assert.equal(parseError('a=b\\x').message, 'invalid field selector: invalid escape sequence: \\x');
    assert.equal(parseError('a=b\\').message, 'invalid field selector: invalid escape sequence: \\');
    assert.equal(parseError('a=b=c').message, 'invalid field selector: unescapedRune character in value: 61');
  });
});

describe('fieldsMatch', () => {
  const fields = { 'metadata.name': 'web', 'status.phase': 'Running' };

  it('requires every term', () => {
    assert.equal(fieldsMatch(parseFieldSelector('metadata.name=web'), fields), true);
    assert.equal(fieldsMatch(parseFieldSelector('metadata.name=web,status.phase=Running'), fields), true);
    assert.equal(fieldsMatch(parseFieldSelector('metadata.name=web,status.phase=Pending'), fields), false);
    assert.equal(fieldsMatch(parseFieldSelector('status.phase!=Running'), fields), false);
    assert.equal(fieldsMatch(parseFieldSelector('status.phase!=Failed'), fields), true);
    assert.equal(fieldsMatch([], fields), true);
  });

  it('treats a missing field as the empty string', () => {
    assert.equal(fieldsMatch(parseFieldSelector('spec.nodeName='), fields), true);
    assert.equal(fieldsMatch(parseFieldSelector('spec.nodeName!='), fields), false);
    assert.equal(fieldsMatch(parseFieldSelector('spec.nodeName!=n1'), fields), true);
  });
});

describe('helpers', () => {
  it('lists unsupported field names once each', () => {
    const reqs = parseFieldSelector('metadata.name=a,spec.foo=b,spec.foo!=c,status.bar=d');
    assert.deepEqual(unsupportedFields(reqs, new Set(['metadata.name', 'metadata.namespace'])), ['spec.foo', 'status.bar']);
    assert.deepEqual(unsupportedFields(reqs, new Set(['metadata.name', 'spec.foo', 'status.bar'])), []);
  });

  it('escapes values so they round-trip', () => {
    const v = 'a,b=c\\d';
    assert.equal(escapeFieldValue(v), 'a\\,b\\=c\\\\d');
    const reqs = parseFieldSelector(`metadata.name=${escapeFieldValue(v)}`);
    assert.equal(reqs[0].value, v);
    assert.deepEqual(parseFieldSelector(formatFieldSelector(reqs)), reqs);
  });
});
