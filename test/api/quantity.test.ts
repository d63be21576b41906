import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  addQuantity,
  canonicalQuantity,
  cmpQuantity,
  ERR_FORMAT_WRONG,
  ERR_NUMERIC,
  ERR_SUFFIX,
  formatQuantity,
  isQuantity,
  milliValue,
  newMilliQuantity,
  newQuantity,
  parseQuantity,
  quantitiesEqual,
  scaledValue,
  subQuantity,
  validateResourceList,
  value,
} from '../../src/api/quantity.js';

const fmt = (s: string | number) => formatQuantity(parseQuantity(s));
const exact = (s: string) => {
  const q = parseQuantity(s);
  return `${q.mantissa}e${q.scale}`;
};

describe('parseQuantity / formatQuantity', () => {
  it('keeps binary quantities binary and decimal ones decimal', () => {
    const cases: [string, string][] = [
      ['1536Mi', '1536Mi'],
      ['1.5Gi', '1536Mi'],
      ['0.5Gi', '512Mi'],
      ['1024Ki', '1Mi'],
      ['123Mi', '123Mi'],
      ['5Ki', '5Ki'],
      ['7Ei', '7Ei'],
      ['1k', '1k'],
      ['1000', '1k'],
      ['2000000', '2M'],
      ['1.5M', '1500k'],
      ['1000m', '1'],
      ['0.5', '500m'],
      ['1.5', '1500m'],
      ['100m', '100m'],
      ['0.001', '1m'],
      ['0.0001', '100u'],
      ['1n', '1n'],
      ['128974848', '128974848'],
      ['129e6', '129e6'],
      ['12e6', '12e6'],
      ['2e3', '2e3'],
      ['1e4', '10e3'],
      ['1.5e3', '1500'],
      ['-1', '-1'],
      ['-1.5', '-1500m'],
      ['-2Ki', '-2Ki'],
    ];
    for (const [input, want] of cases) assert.equal(fmt(input), want, input);
  });

  it('prints small or fractional binary quantities as decimal', () => {
    assert.equal(fmt('0.5Ki'), '512');
    assert.equal(fmt('1.5Ki'), '1536');
    assert.equal(fmt('1.1Ki'), '1126400m');
    assert.equal(fmt('0.000000001Ki'), '1024n');
    assert.equal(parseQuantity('0.000000001Ki').format, 'DecimalSI');
    assert.equal(parseQuantity('0.000000001Gi').format, 'BinarySI');
  });

  it('prints every zero as 0', () => {
    for (const s of ['0', '0n', '0m', '0Ki', '0Gi', '0e3', '0.0', '-0', '00', '0.0Ei', '0e2147483648']) assert.equal(fmt(s), '0', s);
  });

  it('rounds values below one nano up, away from zero', () => {
    assert.equal(exact('0.1n'), '1e-9');
    assert.equal(exact('1e-10'), '1e-9');
    assert.equal(exact('1.0000000001n'), '2e-9');
    assert.equal(exact('0.0000000001Ki'), '103e-9');
    assert.equal(exact('-1e-1000'), '-1e-9');
    assert.equal(fmt('0.1m'), '100u');
  });

  it('caps binary quantities at the int64 maximum', () => {
    assert.equal(fmt('8Ei'), '9223372036854775807');
    assert.equal(fmt('123.456789012Ei'), '9223372036854775807');
    assert.equal(fmt('-8Ei'), '-9223372036854775807');
    assert.equal(fmt('1000E'), '1e21'); // decimal is not capped; beyond E it prints as an exponent
  });

  it('parses exactly, with no floating-point drift', () => {
    assert.equal(exact('0.1'), '1e-1');
    assert.equal(exact('123.456789012'), '123456789012e-9');
    assert.equal(exact('1.5Gi'), '16106127360e-1');
    assert.equal(exact('0.0009765625Ki'), '1000000000e-9');
    assert.equal(fmt('0.0009765625Ki'), '1');
    assert.equal(formatQuantity(addQuantity(parseQuantity('0.1'), parseQuantity('0.2'))), '300m');
  });

  it('accepts JSON numbers as clients send them', () => {
    assert.equal(fmt(0.5), '500m');
    assert.equal(fmt(2), '2');
    assert.equal(fmt(1e21), '1e+21');
    assert.equal(canonicalQuantity(parseQuantity(1e21)), '1e21');
    assert.throws(() => parseQuantity(Number.NaN), { message: ERR_FORMAT_WRONG });
  });

  it('re-emits the input where upstream keeps it unchanged', () => {
    assert.equal(fmt('+1'), '+1');
    assert.equal(fmt('1.500'), '1.500');
    assert.equal(fmt('1E3'), '1E3');
    assert.equal(canonicalQuantity(parseQuantity('+1')), '1');
    assert.equal(canonicalQuantity(parseQuantity('1.500')), '1500m');
    assert.equal(canonicalQuantity(parseQuantity('1E3')), '1e3');
  });

  it('rejects malformed quantities with upstream messages', () => {
    assert.equal(ERR_FORMAT_WRONG, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
    for (const s of ['', 'abc', ' 1', '1 ', '1.5.5', '1Ki ', '1.5Qi', '1e5e5'])
      assert.throws(() => parseQuantity(s), { message: ERR_FORMAT_WRONG }, JSON.stringify(s));
    for (const s of ['1K', '1e', '1mi', '1ki', '1ee5', '1Mi5', '1+1', '--1'])
      assert.throws(() => parseQuantity(s), { message: ERR_SUFFIX }, s);
    for (const s of ['Pi', 'Ei', 'e-10']) assert.throws(() => parseQuantity(s), { message: ERR_NUMERIC }, s);
  });

  it('reports validity with isQuantity', () => {
    assert.equal(isQuantity('100m'), true);
    assert.equal(isQuantity(3), true);
    assert.equal(isQuantity('1K'), false);
    assert.equal(isQuantity(null), false);
    assert.equal(isQuantity({}), false);
  });
});

describe('quantity arithmetic', () => {
  it('compares by value across formats and scales', () => {
    const q = parseQuantity;
    assert.equal(cmpQuantity(q('1'), q('1000m')), 0);
    assert.equal(cmpQuantity(q('1Ki'), q('1024')), 0);
    assert.equal(cmpQuantity(q('1Ki'), q('1k')), 1);
    assert.equal(cmpQuantity(q('999m'), q('1')), -1);
    assert.equal(cmpQuantity(q('-1'), q('0')), -1);
    assert.equal(cmpQuantity(q('-2'), q('-1')), -1);
    assert.equal(cmpQuantity(q('1e1000'), q('8Ei')), 1);
    assert.equal(cmpQuantity(q('1n'), q('0')), 1);
    assert.equal(quantitiesEqual(q('1.5Gi'), q('1536Mi')), true);
  });

  it('adds and subtracts exactly, keeping the first operand’s format', () => {
    const q = parseQuantity;
    assert.equal(formatQuantity(addQuantity(q('1Gi'), q('512Mi'))), '1536Mi');
    assert.equal(formatQuantity(addQuantity(q('500m'), q('1.5'))), '2');
    assert.equal(formatQuantity(subQuantity(q('1'), q('1500m'))), '-500m');
    assert.equal(formatQuantity(addQuantity(q('0'), q('1Mi'))), '1Mi');
    assert.equal(formatQuantity(subQuantity(q('2Gi'), q('2Gi'))), '0');
  });

  it('rounds value() and milliValue() up, away from zero', () => {
    const q = parseQuantity;
    assert.equal(value(q('1.5')), 2n);
    assert.equal(value(q('1001m')), 2n);
    assert.equal(value(q('-1.5')), -2n);
    assert.equal(value(q('1Ki')), 1024n);
    assert.equal(value(q('1e20')), 100000000000000000000n);
    assert.equal(milliValue(q('100m')), 100n);
    assert.equal(milliValue(q('1.5')), 1500n);
    assert.equal(milliValue(q('0.1m')), 1n);
    assert.equal(milliValue(q('1n')), 1n);
    assert.equal(scaledValue(q('1.5Gi'), 6), 1611n);
  });

  it('builds quantities from integers', () => {
    assert.equal(formatQuantity(newQuantity(2048, 'BinarySI')), '2Ki');
    assert.equal(formatQuantity(newQuantity(1500n)), '1500');
    assert.equal(formatQuantity(newMilliQuantity(250)), '250m');
    assert.equal(formatQuantity(newMilliQuantity(3000)), '3');
  });
});

describe('validateResourceList', () => {
  it('accepts valid lists and nothing', () => {
    assert.deepEqual(validateResourceList(undefined, 'spec.hard'), []);
    assert.deepEqual(
      validateResourceList({ cpu: '500m', memory: '1Gi', pods: '10', 'example.com/gpu': 2, 'hugepages-2Mi': '4Mi', 'requests.storage': '5Gi' }, 'spec.hard'),
      [],
    );
  });

  it('reports malformed, negative and fractional quantities and unknown names', () => {
    const errs = validateResourceList(
      { cpu: '-1', memory: 'abc', pods: '1.5', 'example.com/gpu': '0.5', foo: '1', 'bad name!': '1', storage: true },
      'spec.hard',
    );
    const byField = new Map(errs.map((e) => [e.field, e]));
    assert.equal(byField.get('spec.hard[cpu]')?.detail, 'must be greater than or equal to 0');
    assert.equal(byField.get('spec.hard[memory]')?.detail, ERR_FORMAT_WRONG);
    assert.equal(byField.get('spec.hard[pods]')?.detail, 'must be an integer');
    assert.equal(byField.get('spec.hard[pods]')?.value, '1500m');
    assert.equal(byField.get('spec.hard[example.com/gpu]')?.detail, 'must be an integer');
    assert.equal(byField.get('spec.hard[foo]')?.detail, 'must be a standard resource type or fully qualified');
    assert.match(byField.get('spec.hard[bad name!]')?.detail ?? '', /name part must consist of/);
    assert.equal(byField.get('spec.hard[storage]')?.type, 'FieldValueTypeInvalid');
    assert.equal(errs.length, 7);
  });

  it('rejects a non-object', () => {
    assert.equal(validateResourceList(['cpu'], 'spec.hard')[0].type, 'FieldValueTypeInvalid');
  });
});

describe('parseQuantity results', () => {
  it('are shared and frozen for a repeated spelling, and a bad spelling fails every time', () => {
    const a = parseQuantity('250Mi');
    assert.equal(parseQuantity('250Mi'), a);
    assert.ok(Object.isFrozen(a));
    assert.equal(canonicalQuantity(a), '250Mi');
    assert.equal(canonicalQuantity(parseQuantity(1.5)), '1500m');
    for (let i = 0; i < 2; i++) assert.throws(() => parseQuantity('12Q'), { message: ERR_FORMAT_WRONG });
  });
});
