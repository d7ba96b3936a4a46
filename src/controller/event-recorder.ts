/**
 * EventRecorder writes core/v1 Events about objects, as controllers report what they did
 * (`kubectl describe` and `kubectl get events` show them). An event repeated for the same
 * object with the same type, reason and message within the window is folded into the Event
 * already written: its `count` goes up and `lastTimestamp` moves, instead of a new Event.
 *
 * Recording never throws into the caller: an event is a report, not part of the reconcile, so
 * failures go to the log. The fold-in memory is per recorder, as client-go's correlator is.
 */
import { randomBytes } from 'node:crypto';
import type { ObjectClient, ResourceRef } from '../client/client.ts';
import type { KubeObject } from '../machinery/object.ts';
import { realClock, toKubeTime, type Clock } from '../machinery/clock.ts';
import { StatusError } from '../machinery/status-error.ts';
import { stderrLog, type ControllerLog } from './controller.ts';

export const eventResource: ResourceRef = { group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true };

export type EventType = 'Normal' | 'Warning';

/** The object an event is about, as core/v1 ObjectReference names it. */
export interface InvolvedObject {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  name: string;
  uid?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

export interface EventRecorderOptions {
  client: ObjectClient;
  /** Who reports: `source.component` and `reportingComponent` (`placement-controller`). */
  component: string;
  /** `source.host` and `reportingInstance`, when set. */
  host?: string;
  clock?: Clock;
  /** Repeats within this long of the last one are folded into one Event. Default 10 min. */
  windowMs?: number;
  /** Most distinct events remembered for folding; the oldest are forgotten first. Default 4096. */
  maxRemembered?: number;
  log?: ControllerLog;
}

interface Remembered {
  namespace: string;
  eventName: string;
  lastSeen: number;
}

export class EventRecorder {
  readonly #client: ObjectClient;
  readonly #component: string;
  readonly #host: string | undefined;
  readonly #clock: Clock;
  readonly #windowMs: number;
  readonly #maxRemembered: number;
  readonly #log: ControllerLog;
  readonly #remembered = new Map<string, Remembered>();
  /** Events with the same fold-in key are written one after another, so repeats never race. */
  readonly #inFlight = new Map<string, Promise<void>>();

  constructor(options: EventRecorderOptions) {
    this.#client = options.client;
    this.#component = options.component;
    this.#host = options.host;
    this.#clock = options.clock ?? realClock;
    this.#windowMs = options.windowMs ?? 10 * 60_000;
    this.#maxRemembered = options.maxRemembered ?? 4096;
    this.#log = options.log ?? stderrLog;
  }

  /** Records an event about `object` (an object or a reference to one); resolves once written. */
  event(object: KubeObject | InvolvedObject, type: EventType, reason: string, message: string): Promise<void> {
    const involved = involvedObjectOf(object);
    const key = JSON.stringify([involved.apiVersion, involved.kind, involved.namespace, involved.name, involved.uid, type, reason, message]);
    const previous = this.#inFlight.get(key) ?? Promise.resolve();
    const next = previous.then(() => this.#record(key, involved, type, reason, message));
    this.#inFlight.set(key, next);
    void next.finally(() => {
      if (this.#inFlight.get(key) === next) this.#inFlight.delete(key);
    });
    return next;
  }

  /** Shorthands for `event` with type Warning and Normal. */
  warning(object: KubeObject | InvolvedObject, reason: string, message: string): Promise<void> {
    return this.event(object, 'Warning', reason, message);
  }

  normal(object: KubeObject | InvolvedObject, reason: string, message: string): Promise<void> {
    return this.event(object, 'Normal', reason, message);
  }

  async #record(key: string, involved: InvolvedObject, type: EventType, reason: string, message: string): Promise<void> {
    const now = this.#clock.now();
    try {
      const seen = this.#remembered.get(key);
      if (seen && now - seen.lastSeen <= this.#windowMs && (await this.#fold(seen, now))) {
        this.#remember(key, { ...seen, lastSeen: now });
        return;
      }
      const namespace = involved.namespace || 'default';
      const created = await this.#client.create(eventResource, namespace, {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { namespace, name: `${involved.name}.${eventSuffix(now)}` },
        involvedObject: { ...involved },
        type,
        reason,
        message,
        source: { component: this.#component, ...(this.#host ? { host: this.#host } : {}) },
        reportingComponent: this.#component,
        reportingInstance: this.#host ?? '',
        count: 1,
        firstTimestamp: toKubeTime(now),
        lastTimestamp: toKubeTime(now),
      });
      this.#remember(key, { namespace, eventName: created.metadata.name!, lastSeen: now });
    } catch (err) {
      this.#log('error', 'event recorder: could not write event', { component: this.#component, object: `${involved.kind ?? ''}/${involved.name}`, reason, error: String(err) });
    }
  }

  /** Bumps count and lastTimestamp of the Event written before; false when it is gone. */
  async #fold(seen: Remembered, now: number): Promise<boolean> {
    for (let attempt = 0; attempt < 5; attempt++) {
      let existing: KubeObject;
      try {
        existing = await this.#client.get(eventResource, seen.namespace, seen.eventName);
      } catch (err) {
        if (err instanceof StatusError && err.reason === 'NotFound') return false;
        throw err;
      }
      const count = typeof existing.count === 'number' ? existing.count : 1;
      try {
        await this.#client.update(eventResource, seen.namespace, { ...existing, count: count + 1, lastTimestamp: toKubeTime(now) });
        return true;
      } catch (err) {
        if (err instanceof StatusError && err.reason === 'NotFound') return false;
        if (!(err instanceof StatusError && err.reason === 'Conflict')) throw err;
      }
    }
    throw new Error(`event ${seen.namespace}/${seen.eventName} kept changing under the recorder`);
  }

  #remember(key: string, entry: Remembered): void {
    this.#remembered.delete(key);
    this.#remembered.set(key, entry);
    while (this.#remembered.size > this.#maxRemembered) {
      this.#remembered.delete(this.#remembered.keys().next().value!);
    }
  }
}

function involvedObjectOf(object: KubeObject | InvolvedObject): InvolvedObject {
  if ('metadata' in object && object.metadata) {
    const obj = object as KubeObject;
    return {
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
      name: obj.metadata.name ?? '',
      ...(obj.metadata.uid ? { uid: obj.metadata.uid } : {}),
      ...(obj.metadata.resourceVersion ? { resourceVersion: obj.metadata.resourceVersion } : {}),
    };
  }
  return object as InvolvedObject;
}

/** A name suffix unique enough within one object: the time in hex plus random bits, as client-go does with nanoseconds. */
function eventSuffix(now: number): string {
  return `${Math.floor(now).toString(16)}${randomBytes(3).toString('hex')}`;
}
