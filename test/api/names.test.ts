import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatAge,
  generateName,
  humanDuration,
  microTimeRFC3339,
  newUID,
  nowRFC3339,
  shortHumanDuration,
} from '../../src/api/names.js';

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const YEAR = 365 * DAY;

describe('generateName', () => {
  it('appends 5 characters from the upstream alphabet', () => {
    for (let i = 0; i < 50; i++) assert.match(generateName('web-'), /^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });

  it('varies', () => {
    const names = new Set(Array.from({ length: 20 }, () => generateName('x-')));
    assert.ok(names.size > 15, `only ${names.size} distinct names`);
  });

  it('cuts long prefixes so the name fits 63 characters', () => {
    const prefix = 'a'.repeat(70);
    const name = generateName(prefix);
    assert.equal(name.length, 63);
    assert.ok(name.startsWith('a'.repeat(58)));
    assert.equal(generateName('b'.repeat(58)).length, 63);
    assert.equal(generateName('c'.repeat(57)).length, 62);
  });
});

describe('ids and timestamps', () => {
  it('makes RFC 4122 UIDs', () => {
    assert.match(newUID(), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.notEqual(newUID(), newUID());
  });

  it('formats metav1.Time with seconds precision', () => {
    assert.equal(nowRFC3339(Date.UTC(2024, 0, 2, 3, 4, 5, 678)), '2024-01-02T03:04:05Z');
    assert.match(nowRFC3339(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('formats metav1.MicroTime with six fractional digits', () => {
    assert.equal(microTimeRFC3339(Date.UTC(2024, 0, 2, 3, 4, 5) + 123.5), '2024-01-02T03:04:05.123500Z');
    assert.equal(microTimeRFC3339(Date.UTC(2024, 0, 2, 3, 4, 5)), '2024-01-02T03:04:05.000000Z');
    assert.match(microTimeRFC3339(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const before = Date.now();
    const t = Date.parse(microTimeRFC3339());
    assert.ok(Math.abs(t - before) < 5000, 'micro time is near now');
  });
});

describe('humanDuration (the AGE column)', () => {
  const cases: [number, string][] = [
    [0, '0s'],
    [-1500, '0s'],
    [-2 * SEC, '<invalid>'],
    [999, '0s'],
    [45 * SEC, '45s'],
    [119 * SEC + 999, '119s'],
    [2 * MIN, '2m'],
    [5 * MIN + 3 * SEC, '5m3s'],
    [9 * MIN + 59 * SEC, '9m59s'],
    [10 * MIN, '10m'],
    [10 * MIN + 30 * SEC, '10m'],
    [179 * MIN, '179m'],
    [3 * HOUR, '3h'],
    [5 * HOUR + 20 * MIN, '5h20m'],
    [7 * HOUR + 59 * MIN, '7h59m'],
    [8 * HOUR, '8h'],
    [8 * HOUR + 30 * MIN, '8h'],
    [47 * HOUR, '47h'],
    [48 * HOUR, '2d'],
    [3 * DAY + 4 * HOUR, '3d4h'],
    [7 * DAY + 23 * HOUR, '7d23h'],
    [8 * DAY, '8d'],
    [729 * DAY, '729d'],
    [2 * YEAR, '2y'],
    [3 * YEAR + 15 * DAY, '3y15d'],
    [8 * YEAR, '8y'],
    [8 * YEAR + 100 * DAY, '8y'],
  ];
  for (const [ms, want] of cases) it(`${ms}ms → ${want}`, () => assert.equal(humanDuration(ms), want));

  it('has a one-unit short form', () => {
    assert.equal(shortHumanDuration(59 * SEC), '59s');
    assert.equal(shortHumanDuration(90 * SEC), '1m');
    assert.equal(shortHumanDuration(25 * HOUR), '1d');
    assert.equal(shortHumanDuration(400 * DAY), '1y');
    assert.equal(shortHumanDuration(-5 * SEC), '<invalid>');
  });
});

describe('formatAge', () => {
  const created = '2024-01-02T03:04:05Z';
  const t0 = Date.parse(created);

  it('measures from the creation timestamp', () => {
    assert.equal(formatAge(created, t0 + 45 * SEC), '45s');
    assert.equal(formatAge(created, t0 + 5 * MIN + 3 * SEC), '5m3s');
    assert.equal(formatAge(created, t0 + 2 * DAY + 3 * HOUR), '2d3h');
    assert.equal(formatAge(created, t0 - 10 * SEC), '<invalid>');
  });

  it('prints <unknown> without a timestamp', () => {
    assert.equal(formatAge(undefined, t0), '<unknown>');
    assert.equal(formatAge('', t0), '<unknown>');
    assert.equal(formatAge('not a time', t0), '<unknown>');
  });
});
