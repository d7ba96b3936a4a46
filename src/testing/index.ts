/** Test fixtures shared across the project. */
export { etcdAvailable, etcdBinary, startEtcd, type StartEtcdOptions, type TestEtcd } from './etcd.ts';
