// The shared HTTP/1.1 head pieces of the ingress fast path: Connection values read in one pass.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLOSE, connectionTokens, isTrimmedName, KEEP_ALIVE, OTHER, UPGRADE } from '../../src/ingress/http1.js';

describe('ingress HTTP/1.1 pieces', () => {
  it('reads the names a Connection value lists, ignoring case, spaces and empty list elements', () => {
    const of = (value: string) => connectionTokens(`Connection:${value}\r\n`, 11, 11 + value.length);
    assert.equal(of(' keep-alive'), KEEP_ALIVE);
    assert.equal(of('Keep-Alive , Upgrade'), KEEP_ALIVE | UPGRADE);
    assert.equal(of(' ,CLOSE,, '), CLOSE);
    assert.equal(of('\tx-secret,close'), OTHER | CLOSE);
    assert.equal(of('keep-alive2'), OTHER);
    assert.equal(of(''), 0);
  });
  it('compares a value without its surrounding spaces and tabs', () => {
    assert.ok(isTrimmedName('TE: \tChunked \r\n', 3, 13, 'chunked'));
    assert.ok(!isTrimmedName('TE: chunked, gzip\r\n', 3, 17, 'chunked'));
  });
});
