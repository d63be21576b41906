import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FieldError } from '../../../src/api/errors.js';
import { type CoreEvent, type EventsV1Event, coreEventToEventsV1, eventsV1ToCoreEvent } from '../../../src/api/kinds/event-convert.js';
import { eventTableRow, eventsV1EventKind } from '../../../src/api/kinds/events.js';
import { formatAge } from '../../../src/api/names.js';
import type { KubeObject } from '../../../src/api/types.js';

type Ev = EventsV1Event & KubeObject;
const s = eventsV1EventKind.strategy;
const fields = (errs: FieldError[]) => errs.map((e) => `${e.field}:${e.type}`);

function newEvent(extra: Partial<Ev> = {}): Ev {
  return {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { name: 'web-1.17a', namespace: 'default' },
    eventTime: '2024-01-01T00:00:00.123456Z',
    reportingController: 'kubelet',
    reportingInstance: 'kubelet-node-1',
    action: 'Pulling',
    reason: 'Pulling',
    regarding: { kind: 'Pod', namespace: 'default', name: 'web-1', apiVersion: 'v1', uid: 'u1', fieldPath: 'spec.containers{web}' },
    note: 'Pulling image "nginx"',
    type: 'Normal',
    ...extra,
  } as Ev;
}

describe('events.k8s.io Event discovery info', () => {
  it('matches upstream discovery and strategy flags', () => {
    assert.equal(eventsV1EventKind.group, 'events.k8s.io');
    assert.equal(eventsV1EventKind.resource, 'events');
    assert.deepEqual(eventsV1EventKind.shortNames, ['ev']);
    assert.equal(eventsV1EventKind.allowCreateOnUpdate, true);
    assert.equal(eventsV1EventKind.namespaced, true);
  });
});

describe('events.k8s.io Event validation', () => {
  it('accepts a well-formed event', () => assert.deepEqual(s.validate!(newEvent()), []));

  it('requires eventTime, reportingController/Instance, action and reason', () => {
    const o = newEvent();
    for (const f of ['eventTime', 'reportingController', 'reportingInstance', 'action', 'reason']) delete (o as Record<string, unknown>)[f];
    // Without eventTime the legacy checks (namespace agreement) apply instead of the reporting fields.
    assert.deepEqual(fields(s.validate!(o)), ['eventTime:FieldValueRequired']);
    o.eventTime = '2024-01-01T00:00:00.000000Z';
    // upstream also reports the empty reportingController as an invalid qualified name
    assert.deepEqual([...new Set(fields(s.validate!(o)))], [
      'reportingController:FieldValueRequired',
      'reportingController:FieldValueInvalid',
      'reportingInstance:FieldValueRequired',
      'action:FieldValueRequired',
      'reason:FieldValueRequired',
    ]);
  });

  it('checks type, lengths and the qualified-name reportingController', () => {
    const o = newEvent({ type: 'Bad', reportingController: 'not a name', action: 'x'.repeat(129), note: 'y'.repeat(1025) });
    const errs = s.validate!(o);
    assert.deepEqual(
      errs.map((e) => [e.field, e.detail]),
      [
        ['reportingController', errs[0].detail],
        ['action', 'can have at most 128 characters'],
        ['message', 'can have at most 1024 characters'],
        ['type', 'has invalid value: Bad'],
      ],
    );
    assert.match(errs[0].detail!, /name part must consist of alphanumeric characters/);
  });

  it('requires deprecated fields to be unset and a sane series', () => {
    const o = newEvent({
      deprecatedCount: 3,
      deprecatedFirstTimestamp: '2024-01-01T00:00:00Z',
      deprecatedSource: { component: 'kubelet' },
      series: { count: 1, lastObservedTime: '' },
    });
    assert.deepEqual(fields(s.validate!(o)), [
      'series.count:FieldValueInvalid',
      'series.lastObservedTime:FieldValueRequired',
      'firstTimestamp:FieldValueInvalid',
      'count:FieldValueInvalid',
      'source:FieldValueInvalid',
    ]);
  });

  it('requires cluster-scoped subjects to be reported in default or kube-system', () => {
    const o = newEvent({ regarding: { kind: 'Node', name: 'node-1' } });
    o.metadata!.namespace = 'team-a';
    assert.deepEqual(
      s.validate!(o).map((e) => [e.field, e.detail]),
      [['involvedObject.namespace', 'does not match event.namespace']],
    );
    o.metadata!.namespace = 'kube-system';
    assert.deepEqual(s.validate!(o), []);
  });

  it('reports wrong JSON types', () => {
    const o = newEvent();
    (o as Record<string, unknown>).note = 5;
    (o as Record<string, unknown>).eventTime = 'yesterday';
    assert.deepEqual(fields(s.validate!(o)), ['note:FieldValueTypeInvalid', 'eventTime:FieldValueTypeInvalid']);
  });

  it('keeps everything but series and metadata immutable on update', () => {
    const old = newEvent();
    const series = newEvent({ series: { count: 2, lastObservedTime: '2024-01-01T00:05:00.000000Z' } });
    assert.deepEqual(s.validateUpdate!(series, old), []);
    // same instant, other spelling: not a change
    assert.deepEqual(s.validateUpdate!(newEvent({ eventTime: '2024-01-01T00:00:00.123456000Z' }), old), []);
    const changed = newEvent({ note: 'other', reportingInstance: 'x', eventTime: '2024-01-02T00:00:00.000000Z' });
    assert.deepEqual(
      s.validateUpdate!(changed, old).map((e) => [e.field, e.detail]),
      [
        ['message', 'field is immutable'],
        ['eventTime', 'field is immutable'],
        ['reportingInstance', 'field is immutable'],
      ],
    );
  });

  it('exposes the events.k8s.io field selectors', () => {
    const f = s.selectableFields!(newEvent());
    assert.equal(f['regarding.name'], 'web-1');
    assert.equal(f['regarding.kind'], 'Pod');
    assert.equal(f.reportingController, 'kubelet');
    assert.equal(f.source, 'kubelet');
    assert.equal(f.type, 'Normal');
    assert.equal(s.selectableFields!(newEvent({ deprecatedSource: { component: 'old' } })).source, 'old');
    // works on an empty object (the server lists the keys this way)
    assert.ok('regarding.uid' in s.selectableFields!({ metadata: {} } as Ev));
  });
});

describe('core <-> events.k8s.io conversion', () => {
  const core: CoreEvent = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'web-1.17a', namespace: 'default' },
    involvedObject: { kind: 'Pod', namespace: 'default', name: 'web-1' },
    reason: 'BackOff',
    message: 'Back-off restarting failed container',
    source: { component: 'kubelet', host: 'node-1' },
    firstTimestamp: '2024-01-01T00:00:00Z',
    lastTimestamp: '2024-01-01T00:10:00Z',
    count: 7,
    type: 'Warning',
    eventTime: null,
    reportingComponent: '',
    reportingInstance: '',
  };

  it('maps every field as upstream does', () => {
    const v1 = coreEventToEventsV1(core);
    assert.deepEqual(v1, {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: 'web-1.17a', namespace: 'default' },
      eventTime: null,
      reason: 'BackOff',
      regarding: { kind: 'Pod', namespace: 'default', name: 'web-1' },
      note: 'Back-off restarting failed container',
      type: 'Warning',
      deprecatedSource: { component: 'kubelet', host: 'node-1' },
      deprecatedFirstTimestamp: '2024-01-01T00:00:00Z',
      deprecatedLastTimestamp: '2024-01-01T00:10:00Z',
      deprecatedCount: 7,
    });
    assert.deepEqual(eventsV1ToCoreEvent(v1), core);
  });

  it('fills the zero values a real server writes and round-trips new-style events', () => {
    const v1 = newEvent({ series: { count: 2, lastObservedTime: '2024-01-01T00:05:00.000000Z' }, related: { kind: 'Node', name: 'n' } });
    const c = eventsV1ToCoreEvent(v1);
    assert.equal(c.firstTimestamp, null);
    assert.equal(c.lastTimestamp, null);
    assert.deepEqual(c.source, {});
    assert.equal(c.reportingComponent, 'kubelet');
    assert.equal(c.message, 'Pulling image "nginx"');
    assert.deepEqual(c.involvedObject, v1.regarding);
    assert.equal('count' in c, false);
    const back = coreEventToEventsV1(c);
    assert.deepEqual(back, { ...v1, deprecatedSource: {}, deprecatedFirstTimestamp: null, deprecatedLastTimestamp: null });
    // no aliasing between the two shapes
    c.involvedObject!.name = 'changed';
    assert.equal(v1.regarding!.name, 'web-1');
  });
});

describe('Event table', () => {
  const now = Date.parse('2024-01-01T01:00:00Z');

  it('prints a core event like upstream', () => {
    assert.deepEqual(eventsV1EventKind.strategy.table!.columns.filter((c) => c.priority === 0).map((c) => c.name.toUpperCase()), [
      'LAST SEEN',
      'TYPE',
      'REASON',
      'OBJECT',
      'MESSAGE',
    ]);
    const core: CoreEvent = {
      metadata: { name: 'e1', namespace: 'default' },
      involvedObject: { kind: 'Pod', name: 'web-1', fieldPath: 'spec.containers{web}' },
      reason: 'BackOff',
      message: ' Back-off \n',
      source: { component: 'kubelet', host: 'node-1' },
      firstTimestamp: '2024-01-01T00:00:00Z',
      lastTimestamp: '2024-01-01T00:50:00Z',
      count: 4,
      type: 'Warning',
    };
    assert.deepEqual(eventTableRow(core, now), [
      formatAge('2024-01-01T00:50:00Z', now),
      'Warning',
      'BackOff',
      'pod/web-1',
      'spec.containers{web}',
      'kubelet, node-1',
      'Back-off',
      formatAge('2024-01-01T00:00:00Z', now),
      4,
      'e1',
    ]);
  });

  it('uses eventTime, series and reportingController for new-style events', () => {
    const single = eventsV1EventKind.strategy.table!.row(newEvent({ regarding: { kind: 'Node' } }), now);
    assert.equal(single[0], formatAge('2024-01-01T00:00:00.123456Z', now));
    assert.equal(single[3], 'node');
    assert.equal(single[5], 'kubelet, kubelet-node-1');
    assert.equal(single[8], 1);
    const series = eventsV1EventKind.strategy.table!.row(newEvent({ series: { count: 5, lastObservedTime: '2024-01-01T00:59:00.000000Z' } }), now);
    assert.equal(series[0], formatAge('2024-01-01T00:59:00.000000Z', now));
    assert.equal(series[8], 5);
  });
});
