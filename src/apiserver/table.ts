/**
 * Table output (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`), the shape `kubectl get`
 * prints. Cells come from each type's printer columns; date columns are shown as ages, as
 * kube-apiserver does.
 */
import { JSONPath } from 'jsonpath-plus';
import type { KubeObject } from '../machinery/object.ts';
import type { PrinterColumn, ResourceType } from '../api/resource-type.ts';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: { resourceVersion?: string; continue?: string };
  columnDefinitions?: Array<{ name: string; type: string; format: string; description: string; priority: number }>;
  rows: Array<{ cells: unknown[]; object?: unknown }>;
}

const nameColumn: PrinterColumn = { name: 'Name', type: 'string', jsonPath: '.metadata.name', description: 'Name must be unique within a namespace.' };

export function columnsOf(type: ResourceType): PrinterColumn[] {
  return [nameColumn, ...type.printerColumns];
}

/** Renders a duration as kubectl does: 45s, 12m, 5h, 3d, 2y. */
export function humanDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return `${minutes}m${seconds % 60 ? `${seconds % 60}s` : ''}`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return `${hours}h${minutes % 60 ? `${minutes % 60}m` : ''}`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (days < 365 * 2) return `${days}d`;
  return `${Math.floor(days / 365)}y`;
}

function cell(column: PrinterColumn, obj: KubeObject, now: number): unknown {
  let value: unknown;
  if (column.value) {
    value = column.value(obj);
  } else {
    const found = JSONPath({ path: `$${column.jsonPath}`, json: obj as object, wrap: true }) as unknown[];
    value = found.length === 0 ? undefined : found.length === 1 ? found[0] : found.map(String).join(',');
  }
  if (column.type === 'date') {
    const time = typeof value === 'string' ? Date.parse(value) : NaN;
    return Number.isNaN(time) ? '<unknown>' : humanDuration(now - time);
  }
  if (value === undefined || value === null) return '<none>';
  if (typeof value === 'object') return JSON.stringify(value);
  return value;
}

function rowObject(obj: KubeObject, include: IncludeObject): unknown {
  if (include === 'None') return undefined;
  if (include === 'Object') return obj;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

export function toTable(type: ResourceType, items: KubeObject[], options: { now: number; include: IncludeObject; withColumns: boolean; resourceVersion?: string; continue?: string }): Table {
  const columns = columnsOf(type);
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: {
      ...(options.resourceVersion !== undefined ? { resourceVersion: options.resourceVersion } : {}),
      ...(options.continue ? { continue: options.continue } : {}),
    },
    ...(options.withColumns ? {
      columnDefinitions: columns.map((c) => ({
        name: c.name,
        type: c.type === 'date' ? 'string' : c.type,
        format: c.name === 'Name' ? 'name' : c.format ?? '',
        description: c.description ?? '',
        priority: c.priority ?? 0,
      })),
    } : {}),
    rows: items.map((obj) => {
      const object = rowObject(obj, options.include);
      return { cells: columns.map((c) => cell(c, obj, options.now)), ...(object ? { object } : {}) };
    }),
  };
}
