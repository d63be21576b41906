import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CronSyntaxError, parseCronSchedule, parseGoDuration } from '../../src/api/cron.js';

const NY = 'America/New_York';
const next = (spec: string, after: string, tz?: string) => parseCronSchedule(spec).next(new Date(after), tz)?.toISOString() ?? null;

/** successive activations after `after` */
function series(spec: string, after: string, n: number, tz?: string): string[] {
  const s = parseCronSchedule(spec);
  const out: string[] = [];
  let t = new Date(after);
  for (let i = 0; i < n; i++) {
    const d = s.next(t, tz);
    assert.ok(d);
    out.push(d.toISOString());
    t = d;
  }
  return out;
}

describe('parseCronSchedule syntax (robfig/cron standard parser)', () => {
  it('accepts fields, ranges, steps, lists and names', () => {
    for (const ok of ['* * * * *', '*/15 0-6,18-23 1,15 * *', '0 9 * JAN-mar mon-FRI', '5/10 * * * ?', '0 0 * * 0-6', '30 2 29 feb *', '0 0 1 */3 *'])
      assert.doesNotThrow(() => parseCronSchedule(ok), ok);
  });

  it('accepts the descriptors and @every', () => {
    for (const ok of ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly', '@every 1h30m', '@every 90s'])
      assert.doesNotThrow(() => parseCronSchedule(ok), ok);
  });

  it("rejects bad schedules with robfig's messages", () => {
    const cases: [string, string][] = [
      ['', 'empty spec string'],
      ['* * * *', 'expected exactly 5 fields, found 4: [* * * *]'],
      ['0 0 * * * *', 'expected exactly 5 fields, found 6: [0 0 * * * *]'],
      ['60 * * * *', 'end of range (60) above maximum (59): 60'],
      ['* 24 * * *', 'end of range (24) above maximum (23): 24'],
      ['* * 0 * *', 'beginning of range (0) below minimum (1): 0'],
      ['* * * * 7', 'end of range (7) above maximum (6): 7'],
      ['*/0 * * * *', 'step of range should be a positive number: */0'],
      ['5-1 * * * *', 'beginning of range (5) beyond end of range (1): 5-1'],
      ['1-2-3 * * * *', 'too many hyphens: 1-2-3'],
      ['1/2/3 * * * *', 'too many slashes: 1/2/3'],
      ['x * * * *', 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'],
      ['*/-1 * * * *', 'negative number (-1) not allowed: -1'],
      ['@fortnightly', 'unrecognized descriptor: @fortnightly'],
      ['@every 1d', 'failed to parse duration @every 1d: time: unknown unit "d" in duration "1d"'],
      ['TZ=Mars/Olympus 0 * * * *', 'provided bad location Mars/Olympus: unknown time zone Mars/Olympus'],
    ];
    for (const [spec, msg] of cases) assert.throws(() => parseCronSchedule(spec), (e: unknown) => e instanceof CronSyntaxError && e.message === msg, spec);
  });

  it('parses Go durations', () => {
    assert.equal(parseGoDuration('1h30m'), 5400e9);
    assert.equal(parseGoDuration('1.5s'), 1.5e9);
    assert.equal(parseGoDuration('0'), 0);
    assert.throws(() => parseGoDuration('5'), /missing unit/);
    assert.throws(() => parseGoDuration(''), /invalid duration/);
  });
});

describe('CronSchedule.next', () => {
  it('finds the next minute, hour, day and month', () => {
    assert.equal(next('*/15 * * * *', '2024-05-01T10:07:30Z'), '2024-05-01T10:15:00.000Z');
    assert.equal(next('*/15 * * * *', '2024-05-01T10:15:00Z'), '2024-05-01T10:30:00.000Z', 'strictly after');
    assert.equal(next('0 9 * * *', '2024-05-01T10:00:00Z'), '2024-05-02T09:00:00.000Z');
    assert.equal(next('0 0 1 * *', '2024-12-15T00:00:00Z'), '2025-01-01T00:00:00.000Z');
    assert.equal(next('30 2 29 feb *', '2024-03-01T00:00:00Z'), '2028-02-29T02:30:00.000Z');
  });

  it('ORs day-of-month and day-of-week unless one is *', () => {
    // 2024-09-06 is a Friday, before the 13th
    assert.equal(next('0 0 13 * 5', '2024-09-01T00:00:00Z'), '2024-09-06T00:00:00.000Z');
    assert.equal(next('0 0 13 * *', '2024-09-01T00:00:00Z'), '2024-09-13T00:00:00.000Z');
    assert.equal(next('0 0 * * fri', '2024-09-07T00:00:00Z'), '2024-09-13T00:00:00.000Z');
  });

  it('handles the descriptors and @every', () => {
    assert.equal(next('@weekly', '2024-09-01T00:00:00Z'), '2024-09-08T00:00:00.000Z');
    assert.equal(next('@monthly', '2024-09-01T00:00:00Z'), '2024-10-01T00:00:00.000Z');
    assert.equal(next('@yearly', '2024-09-01T00:00:00Z'), '2025-01-01T00:00:00.000Z');
    assert.equal(next('@hourly', '2024-09-01T00:59:59Z'), '2024-09-01T01:00:00.000Z');
    assert.equal(next('@every 90m', '2024-09-01T00:00:00.700Z'), '2024-09-01T01:30:00.000Z');
  });

  it('returns null when nothing matches within five years', () => {
    assert.equal(next('0 0 30 2 *', '2024-01-01T00:00:00Z'), null);
  });

  it('evaluates wall-clock times in the given zone', () => {
    // 09:00 in New York is 13:00Z in summer (EDT) and 14:00Z in winter (EST)
    assert.equal(next('0 9 * * *', '2024-07-01T00:00:00Z', NY), '2024-07-01T13:00:00.000Z');
    assert.equal(next('0 9 * * *', '2024-12-01T00:00:00Z', NY), '2024-12-01T14:00:00.000Z');
    assert.equal(next('0 9 * * *', '2024-07-01T00:00:00Z', 'Asia/Kolkata'), '2024-07-01T03:30:00.000Z');
    // a TZ= prefix wins over the argument
    assert.equal(next('TZ=UTC 0 9 * * *', '2024-07-01T00:00:00Z', NY), '2024-07-01T09:00:00.000Z');
  });

  it('skips a wall time that does not exist on the spring-forward day', () => {
    // 2024-03-10 02:30 does not exist in New York; the next 02:30 is on the 11th (EDT)
    assert.equal(next('30 2 * * *', '2024-03-09T17:00:00Z', NY), '2024-03-11T06:30:00.000Z');
    // hourly jumps from 01:00 EST straight to 03:00 EDT
    assert.deepEqual(series('0 * * * *', '2024-03-10T06:30:00Z', 2, NY), ['2024-03-10T07:00:00.000Z', '2024-03-10T08:00:00.000Z']);
  });

  it('runs in both copies of the repeated hour on the fall-back day, as upstream does', () => {
    // 01:30 happens at 05:30Z (EDT) and again at 06:30Z (EST)
    assert.deepEqual(series('30 1 * * *', '2024-11-03T04:00:00Z', 3, NY), [
      '2024-11-03T05:30:00.000Z',
      '2024-11-03T06:30:00.000Z',
      '2024-11-04T06:30:00.000Z',
    ]);
    // hourly fires every real hour through the change
    assert.deepEqual(series('0 * * * *', '2024-11-03T04:30:00Z', 3, NY), ['2024-11-03T05:00:00.000Z', '2024-11-03T06:00:00.000Z', '2024-11-03T07:00:00.000Z']);
  });

  it('skips midnight on a day that has none, as upstream does', () => {
    // Sao Paulo skipped 2018-11-04 00:00 (clocks went to 01:00); that day starts at 01:00 (03:00Z)
    const SP = 'America/Sao_Paulo';
    assert.equal(next('0 0 * * *', '2018-11-03T12:00:00Z', SP), '2018-11-05T02:00:00.000Z');
    assert.equal(next('0 1 * * *', '2018-11-03T12:00:00Z', SP), '2018-11-04T03:00:00.000Z');
    // the day search lands on 01:00 that day and keeps the day; its 00:00 only comes a year later (no DST in 2019)
    assert.equal(next('0 1 4 11 *', '2018-10-01T00:00:00Z', SP), '2018-11-04T03:00:00.000Z');
    assert.equal(next('0 0 4 11 *', '2018-10-01T00:00:00Z', SP), '2019-11-04T03:00:00.000Z');
  });
});
