import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StatusError } from '../../src/api/errors.js';
import {
  formatLabelSelector,
  formatRequirements,
  labelSelectorMatches,
  labelsMatch,
  parseLabelSelector,
  selectorFromLabelSelector,
  validateLabelSelector,
  type LabelRequirement,
} from '../../src/api/labels.js';

function parseError(s: string): StatusError {
  try {
    parseLabelSelector(s);
  } catch (e) {
    assert.ok(e instanceof StatusError, `not a StatusError: ${String(e)}`);
    return e;
  }
  assert.fail(`expected ${JSON.stringify(s)} to be rejected`);
}

const matches = (sel: string, labels: Record<string, string> | undefined) => labelsMatch(parseLabelSelector(sel), labels);

describe('parseLabelSelector', () => {
  it('parses every operator', () => {
    const cases: [string, LabelRequirement][] = [
      ['x=a', { key: 'x', operator: 'Equals', values: ['a'] }],
      ['x==a', { key: 'x', operator: 'DoubleEquals', values: ['a'] }],
      ['x!=a', { key: 'x', operator: 'NotEquals', values: ['a'] }],
      ['x in (b,a)', { key: 'x', operator: 'In', values: ['a', 'b'] }],
      ['x notin (a,b)', { key: 'x', operator: 'NotIn', values: ['a', 'b'] }],
      ['x', { key: 'x', operator: 'Exists', values: [] }],
      ['!x', { key: 'x', operator: 'DoesNotExist', values: [] }],
      ['x>1', { key: 'x', operator: 'GreaterThan', values: ['1'] }],
      ['x<7', { key: 'x', operator: 'LessThan', values: ['7'] }],
    ];
    for (const [s, want] of cases) assert.deepEqual(parseLabelSelector(s), [want], s);
  });

  it('treats the empty string and blanks as "everything"', () => {
    assert.deepEqual(parseLabelSelector(''), []);
    assert.deepEqual(parseLabelSelector('  \t'), []);
    assert.equal(matches('', { a: 'b' }), true);
  });

  it('tolerates whitespace around keys, operators and values', () => {
    assert.deepEqual(parseLabelSelector(' foo  in\t (abc) '), [{ key: 'foo', operator: 'In', values: ['abc'] }]);
    assert.deepEqual(parseLabelSelector('x notin\n (abc,def)'), [{ key: 'x', operator: 'NotIn', values: ['abc', 'def'] }]);
    assert.deepEqual(parseLabelSelector('\rx'), [{ key: 'x', operator: 'Exists', values: [] }]);
    assert.deepEqual(parseLabelSelector('a = b , c != d'), [
      { key: 'a', operator: 'Equals', values: ['b'] },
      { key: 'c', operator: 'NotEquals', values: ['d'] },
    ]);
  });

  it('accepts qualified keys and dotted values', () => {
    assert.deepEqual(parseLabelSelector('app.kubernetes.io/name=web'), [
      { key: 'app.kubernetes.io/name', operator: 'Equals', values: ['web'] },
    ]);
    assert.deepEqual(parseLabelSelector('0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)'), [
      { key: '0.1.2.domain/99', operator: 'NotIn', values: ['10.10.100.1', 'tick.tack.clock'] },
    ]);
  });

  it('accepts empty values where upstream does', () => {
    assert.deepEqual(parseLabelSelector('x='), [{ key: 'x', operator: 'Equals', values: [''] }]);
    assert.deepEqual(parseLabelSelector('x= ,z= '), [
      { key: 'x', operator: 'Equals', values: [''] },
      { key: 'z', operator: 'Equals', values: [''] },
    ]);
    assert.deepEqual(parseLabelSelector('x in ()')[0].values, ['']);
    assert.deepEqual(parseLabelSelector('x notin ( )')[0].values, ['']);
    assert.deepEqual(parseLabelSelector('x in (abc,)')[0].values, ['', 'abc']);
    assert.deepEqual(parseLabelSelector('x notin (, a)')[0].values, ['', 'a']);
  });

  it('reads in/notin inside a value list as values', () => {
    assert.deepEqual(parseLabelSelector('a in (x,y,notin, z,in)')[0].values, ['in', 'notin', 'x', 'y', 'z']);
    assert.equal(matches('notin=in', { notin: 'in' }), true);
  });

  it('sorts requirements by key, deterministically', () => {
    assert.deepEqual(
      parseLabelSelector('x notin (abc,def),bar,z in (),w').map((r) => r.key),
      ['bar', 'w', 'x', 'z'],
    );
    assert.deepEqual(parseLabelSelector('x=a,a=x'), parseLabelSelector('a=x,x=a'));
  });

  it('round-trips through the string form', () => {
    for (const s of ['x=a,y=b,z=c', 'x!=a,y=b', 'x=', 'x=,z=', '!x', 'x>1,z<5', 'a in (b,c),d notin (e)'])
      assert.equal(formatRequirements(parseLabelSelector(s)), s);
  });

  it('rejects malformed selectors with 400 BadRequest', () => {
    for (const s of [
      'x=a||y=b',
      'x==a==b',
      '!x=a',
      'x<a',
      'x,,y',
      ',x,y',
      'x nott in (y)',
      'a in (xyz),',
      'a in (xyz)b notin ()',
      'a in (xyz abc)',
      'a notin(',
      'a (',
      '(',
      'x=(a)',
      'x in a',
    ]) {
      const e = parseError(s);
      assert.equal(e.code, 400, s);
      assert.equal(e.reason, 'BadRequest', s);
      assert.equal(e.toStatus().status, 'Failure');
    }
  });

  it('words errors as upstream does', () => {
    assert.equal(
      parseError('app:monolith').message,
      `unable to parse requirement: <nil>: Invalid value: "app:monolith": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
    );
    assert.equal(parseError('x nott in (y)').message, "unable to parse requirement: found 'nott', expected: in, notin, =, ==, !=, gt, lt");
    assert.equal(parseError('a in (xyz),').message, "found '', expected: identifier after ','");
    assert.equal(parseError('a in (xyz)b notin ()').message, "found 'b', expected: ',' or 'end of string'");
    assert.equal(parseError(',x').message, "found ',', expected: !, identifier, or 'end of string'");
    assert.equal(parseError('a in (xyz abc)').message, "unable to parse requirement: found 'abc', expected: ',' or ')'");
    assert.match(
      parseError('x=a||y').message,
      /^unable to parse requirement: values\[0\]\[x\]: Invalid value: "a\|\|y": a valid label must be an empty string or consist of alphanumeric characters/,
    );
    assert.match(parseError('x>qa').message, /values\[0\]: Invalid value: "qa": for 'Gt', 'Lt' operators, the value must be an integer/);
    assert.match(parseError(`${'a'.repeat(64)}=b`).message, /name part must be no more than 63 characters/);
  });
});

describe('labelsMatch', () => {
  const labels = { foo: 'bar', baz: 'blah' };

  it('matches equality and set requirements', () => {
    assert.equal(matches('foo=bar', labels), true);
    assert.equal(matches('foo==bar,baz=blah', labels), true);
    assert.equal(matches('foo=blah', labels), false);
    assert.equal(matches('foo=bar,foobar=bar,baz=blah', labels), false);
    assert.equal(matches('foo in (bar,qux)', labels), true);
    assert.equal(matches('foo in (qux)', labels), false);
    assert.equal(matches('x=z', {}), false);
  });

  it('lets != and notin match objects without the key', () => {
    assert.equal(matches('missing!=x', labels), true);
    assert.equal(matches('missing notin (x)', labels), true);
    assert.equal(matches('foo!=bar', labels), false);
    assert.equal(matches('foo notin (bar)', labels), false);
    assert.equal(matches('x!=y,z!=w', { x: 'z', z: 'a' }), true);
    assert.equal(matches('x!=y,z!=w', { x: 'z', z: 'w' }), false);
  });

  it('checks existence', () => {
    assert.equal(matches('foo', labels), true);
    assert.equal(matches('nope', labels), false);
    assert.equal(matches('!nope', labels), true);
    assert.equal(matches('!foo', labels), false);
    assert.equal(matches('y', { y: '' }), true);
    assert.equal(matches('x notin (),y', { y: '' }), true);
    assert.equal(matches('x in ()', { y: 'baz' }), false);
  });

  it('compares integers for > and <', () => {
    assert.equal(matches('x>1', { x: '2' }), true);
    assert.equal(matches('x>1', { x: '0' }), false);
    assert.equal(matches('x<1', { x: '0' }), true);
    assert.equal(matches('x>1', { x: 'v2' }), false);
    assert.equal(matches('x>1', {}), false);
  });

  it('treats missing labels as an empty set', () => {
    assert.equal(matches('a', undefined), false);
    assert.equal(matches('!a', undefined), true);
    assert.equal(matches('a!=b', undefined), true);
  });
});

describe('structured selectors', () => {
  const sel = { matchLabels: { foo: 'bar' }, matchExpressions: [{ key: 'baz', operator: 'In', values: ['qux', 'norf'] }] };

  it('converts matchLabels and matchExpressions', () => {
    const reqs = selectorFromLabelSelector(sel);
    assert.deepEqual(reqs, [
      { key: 'baz', operator: 'In', values: ['qux', 'norf'] },
      { key: 'foo', operator: 'Equals', values: ['bar'] },
    ]);
    assert.equal(labelsMatch(reqs, { foo: 'bar', baz: 'norf' }), true);
    assert.equal(labelsMatch(reqs, { foo: 'bar' }), false);
    const more = selectorFromLabelSelector({
      matchExpressions: [
        { key: 'a', operator: 'NotIn', values: ['x'] },
        { key: 'b', operator: 'Exists' },
        { key: 'c', operator: 'DoesNotExist' },
      ],
    });
    assert.equal(labelsMatch(more, { b: '1' }), true);
    assert.equal(labelsMatch(more, { a: 'x', b: '1' }), false);
    assert.equal(labelsMatch(more, { b: '1', c: '' }), false);
  });

  it('selects everything when empty and nothing when missing', () => {
    assert.deepEqual(selectorFromLabelSelector({}), []);
    assert.equal(labelSelectorMatches({}, { any: 'thing' }), true);
    assert.equal(labelSelectorMatches(undefined, { any: 'thing' }), false);
  });

  it('rejects invalid structured selectors', () => {
    assert.throws(() => selectorFromLabelSelector({ matchExpressions: [{ key: 'a', operator: 'Foo' }] }), {
      code: 400,
      message: '"Foo" is not a valid label selector operator',
    });
    assert.throws(() => selectorFromLabelSelector({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }), /values set can't be empty/);
    assert.throws(() => selectorFromLabelSelector({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }), /must be empty/);
    assert.throws(() => selectorFromLabelSelector({ matchLabels: { 'bad key': 'v' } }), /key: Invalid value: "bad key"/);
  });

  it('formats as upstream (Scale status.selector)', () => {
    assert.equal(formatLabelSelector(sel), 'baz in (norf,qux),foo=bar');
    assert.equal(formatLabelSelector({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['b', 'a'] }] }), 'app=web,tier in (a,b)');
    assert.equal(
      formatLabelSelector({
        matchExpressions: [
          { key: 'x', operator: 'DoesNotExist' },
          { key: 'a', operator: 'Exists' },
          { key: 'n', operator: 'NotIn', values: ['v'] },
        ],
      }),
      'a,n notin (v),!x',
    );
    assert.equal(formatLabelSelector({}), '');
    assert.equal(formatLabelSelector(undefined), '');
    assert.equal(formatLabelSelector({ matchExpressions: [{ key: 'a', operator: 'Bogus' }] }), '<error>');
    const s = formatLabelSelector(sel);
    assert.deepEqual(parseLabelSelector(s), [
      { key: 'baz', operator: 'In', values: ['norf', 'qux'] },
      { key: 'foo', operator: 'Equals', values: ['bar'] },
    ]);
  });
});

describe('validateLabelSelector', () => {
  it('accepts valid selectors and nothing', () => {
    assert.deepEqual(validateLabelSelector(undefined, 'spec.selector'), []);
    assert.deepEqual(
      validateLabelSelector(
        { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a'] }, { key: 'x', operator: 'Exists' }] },
        'spec.selector',
      ),
      [],
    );
  });

  it('reports operators, values and keys', () => {
    const errs = validateLabelSelector(
      {
        matchLabels: { 'bad key': 'v' },
        matchExpressions: [
          { key: 'a', operator: 'In' },
          { key: 'b', operator: 'Exists', values: ['x'] },
          { key: 'c', operator: 'Gt', values: ['1'] },
          { key: '-d', operator: 'NotIn', values: ['ok', 'not ok'] },
        ],
      },
      'spec.selector',
    );
    const summary = errs.map((e) => `${e.type} ${e.field}`);
    assert.deepEqual(summary, [
      'FieldValueInvalid spec.selector.matchLabels',
      'FieldValueRequired spec.selector.matchExpressions[0].values',
      'FieldValueForbidden spec.selector.matchExpressions[1].values',
      'FieldValueInvalid spec.selector.matchExpressions[2].operator',
      'FieldValueInvalid spec.selector.matchExpressions[3].key',
      'FieldValueInvalid spec.selector.matchExpressions[3].values[1]',
    ]);
    assert.equal(errs[1].detail, "must be specified when `operator` is 'In' or 'NotIn'");
    assert.equal(errs[2].detail, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
    assert.equal(errs[3].detail, 'not a valid selector operator');
  });
});
