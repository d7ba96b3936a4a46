/** The client layer: one ObjectClient interface, in-process and HTTPS implementations, informers. */
export type {
  ClientDeleteOptions, ClientList, ClientListOptions, ClientPatchOptions, ClientPatchType, ClientWatch,
  ClientWatchEvent, ClientWatchEventType, ClientWatchOptions, ClientWriteOptions, ObjectClient, ResourceRef,
} from './client.ts';
export { InProcessClient, controllerUser } from './in-process-client.ts';
export { HttpClient, reasonForCode, statusErrorOf, type HttpClientOptions } from './http-client.ts';
export {
  Informer, SharedInformerFactory, namespaceIndex, byNamespace, type SharedInformerOptions,
  type AddHandler, type DeleteHandler, type ErrorHandler, type IndexFunction, type InformerOptions, type UpdateHandler,
} from './informer.ts';
