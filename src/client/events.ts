// Recording core/v1 Events, so `kubectl describe` tells what components did. Repeated events for the same
// object and reason are folded into one with a growing count, as upstream's recorder does.
import type { ObjectReference } from 'kubernetes-types/core/v1.js';
import { nowRFC3339, randomString } from '../api/names.js';
import type { KubeObject } from '../api/types.js';
import { isNotFound, RestClient, type MetaObject } from './rest.js';

const EVENTS = { group: '', version: 'v1', resource: 'events', namespaced: true };

export type EventType = 'Normal' | 'Warning';

export interface EventSource {
  component: string;
  host?: string;
}

interface Folded {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
  message: string;
}

const MAX_FOLDED = 4096;

export function objectReference(obj: MetaObject): ObjectReference {
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    name: obj.metadata?.name,
    namespace: obj.metadata?.namespace,
    uid: obj.metadata?.uid,
    resourceVersion: obj.metadata?.resourceVersion,
  };
}

export class EventRecorder {
  private readonly folded = new Map<string, Folded>();
  private readonly client: RestClient;

  constructor(
    client: RestClient,
    readonly source: EventSource,
    private readonly log: (line: string) => void = () => {},
  ) {
    this.client = client;
  }

  /** Records an event about `obj`. Never throws: a failed event must not fail the caller's work. */
  event(obj: MetaObject, type: EventType, reason: string, message: string): void {
    void this.record(obj, type, reason, message).catch((e) => this.log(`event ${reason} on ${obj.kind}/${obj.metadata?.name}: ${(e as Error).message}`));
  }

  private async record(obj: MetaObject, type: EventType, reason: string, message: string): Promise<void> {
    const ref = objectReference(obj);
    const namespace = ref.namespace || 'default';
    const key = [ref.kind, namespace, ref.name, ref.uid, type, reason, message].join('\u0000');
    const now = nowRFC3339();
    const events = this.client.resource<KubeObject>(EVENTS, namespace);
    const prev = this.folded.get(key);
    if (prev) {
      prev.count++;
      try {
        await events.patch(prev.name, 'merge', { count: prev.count, lastTimestamp: now });
        return;
      } catch (e) {
        if (!isNotFound(e)) throw e;
        this.folded.delete(key);
      }
    }
    const name = `${ref.name ?? 'unknown'}.${Date.now().toString(16)}${randomString(4)}`;
    const ev: KubeObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: ref,
      reason,
      message,
      source: { component: this.source.component, ...(this.source.host ? { host: this.source.host } : {}) },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      type,
      eventTime: null,
      reportingComponent: this.source.component,
      reportingInstance: this.source.host ?? '',
    };
    await events.create(ev);
    if (this.folded.size >= MAX_FOLDED) this.folded.delete(this.folded.keys().next().value as string);
    this.folded.set(key, { name, namespace, count: 1, firstTimestamp: now, message });
  }
}
