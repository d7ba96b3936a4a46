/**
 * What every controller of a simulated cluster is given: a client to the cluster's own API (in
 * process: same rules as HTTPS, no sockets), the cluster's shared informers (one cache per type for
 * all its controllers), the cluster's scheduler (its clock and timers, which a simulation may run
 * faster than real time), a metrics registry and an event recorder. A controller is a function of
 * this context returning something the cluster's manager can start and stop.
 */
import type { Registry } from 'prom-client';
import type { ObjectClient, SharedInformerFactory } from '../client/index.ts';
import type { ControllerLog, EventRecorder, Runnable, Scheduler } from '../controller/index.ts';

export interface SimContext {
  /** The simulated cluster's name. */
  cluster: string;
  client: ObjectClient;
  /**
   * The cluster's shared informers: take informers from here (or pass it to the controller
   * builder as `informers`) rather than making your own. Start the ones you use; never stop them.
   */
  informers: SharedInformerFactory;
  /** Cluster time and timers: use it for every delay and timestamp, never Date.now or setTimeout. */
  scheduler: Scheduler;
  metrics: Registry;
  /** Records core/v1 Events as the component named in `recorder(component)`. */
  recorder(component: string): EventRecorder;
  log: ControllerLog;
}

/** A simulated cluster's controller, started and stopped with the cluster. */
export type SimController = (context: SimContext) => Runnable;
