/**
 * Workloads: each template the hub distributes, from its ResourceBinding: where its replicas went
 * (per cluster), whether they are ready there, and the scheduler's explanation for every cluster.
 */
import { useMemo } from 'react';
import { useLive } from '../state/live.ts';
import { paths } from '../paths.ts';
import { conditions } from '../model.ts';
import type { WatchedObject } from '../state/reducer.ts';
import { Chart, type ChartOption } from '../components/Chart.tsx';
import { Link } from '../components/Link.tsx';
import { VirtualList } from '../components/VirtualList.tsx';
import { navigate, setQuery, useRoute } from '../router.ts';
import { Placeholder } from '../App.tsx';

interface Binding {
  namespace: string;
  name: string;
  resource: { apiVersion: string; kind: string; name: string };
  /** Undefined for a kind without replicas (a Service), which goes whole to each cluster. */
  replicas: number | undefined;
  policy?: { kind: string; name: string; namespace?: string };
  clusters: Array<{ name: string; replicas?: number }>;
  explanation: Array<{ cluster: string; result: string; reason?: string; plugin?: string; score?: number; availableReplicas?: number; replicas?: number }>;
  aggregated: Array<{ cluster: string; applied?: boolean; health?: string; status?: { readyReplicas?: number; replicas?: number } }>;
  scheduled: string;
  scheduledMessage?: string;
}

function binding(obj: WatchedObject): Binding {
  const spec = (obj.spec ?? {}) as Record<string, unknown>;
  const status = (obj.status ?? {}) as Record<string, unknown>;
  const scheduled = conditions(obj).find((c) => c.type === 'Scheduled');
  return {
    namespace: obj.metadata.namespace ?? '',
    name: obj.metadata.name ?? '',
    resource: (spec.resource ?? { apiVersion: '', kind: '', name: '' }) as Binding['resource'],
    replicas: spec.replicas === undefined ? undefined : Number(spec.replicas),
    policy: spec.policy as Binding['policy'],
    clusters: (spec.clusters ?? []) as Binding['clusters'],
    explanation: (status.explanation ?? []) as Binding['explanation'],
    aggregated: (status.aggregatedStatus ?? []) as Binding['aggregated'],
    scheduled: scheduled?.status ?? 'Unknown',
    scheduledMessage: scheduled?.message,
  };
}

function placementText(b: Binding): string {
  return b.clusters.map((c) => (b.replicas !== undefined && c.replicas !== undefined ? `${c.name}: ${c.replicas}` : c.name)).join(', ') || 'not placed';
}

export function Workloads() {
  const live = useLive(paths.bindings);
  const route = useRoute();
  const filter = route.query.get('q') ?? '';
  const rows = useMemo(() => [...live.items.values()].map(binding)
    .filter((b) => !filter || `${b.namespace}/${b.resource.kind}/${b.resource.name} ${placementText(b)}`.toLowerCase().includes(filter.toLowerCase()))
    .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`)), [live.items, filter]);
  const template = '1fr 1.6fr 0.6fr 3fr 0.8fr';
  return (
    <section aria-labelledby="workloads-title">
      <h1 id="workloads-title">Workloads</h1>
      <div className="toolbar">
        <label htmlFor="workload-filter">Filter workloads</label>
        <input id="workload-filter" type="search" placeholder="namespace, kind, name or cluster" value={filter} onChange={(e) => setQuery('q', e.target.value)} />
      </div>
      <Placeholder loading={!live.loaded} error={live.error} empty={live.items.size === 0} emptyText="Nothing is distributed yet: a DistributionPolicy that selects a template creates its ResourceBinding.">
        <div className="table">
          <div className="thead" role="row" style={{ gridTemplateColumns: template }}>
            <div role="columnheader">Namespace</div><div role="columnheader">Template</div><div role="columnheader">Replicas</div><div role="columnheader">Placement</div><div role="columnheader">Scheduled</div>
          </div>
          <VirtualList count={rows.length} rowHeight={34} height={Math.min(560, rows.length * 34 + 2)} label="Workloads" testId="workloads-table"
            onActivate={(i) => navigate(`/workloads/${encodeURIComponent(rows[i]!.namespace)}/${encodeURIComponent(rows[i]!.name)}`)}
            renderRow={(i) => {
              const b = rows[i]!;
              return (
                <div className="trow" style={{ gridTemplateColumns: template }} data-workload={`${b.namespace}/${b.name}`}>
                  <div role="gridcell">{b.namespace}</div>
                  <div role="gridcell"><Link to={`/workloads/${encodeURIComponent(b.namespace)}/${encodeURIComponent(b.name)}`}>{b.resource.kind}/{b.resource.name}</Link></div>
                  <div role="gridcell">{b.replicas ?? '—'}</div>
                  <div role="gridcell" className="placement">{placementText(b)}</div>
                  <div role="gridcell">{b.scheduled}</div>
                </div>
              );
            }} />
        </div>
      </Placeholder>
    </section>
  );
}

function placementChart(b: Binding): ChartOption {
  const names = b.clusters.map((c) => c.name);
  const ready = names.map((n) => b.aggregated.find((a) => a.cluster === n)?.status?.readyReplicas ?? 0);
  return {
    tooltip: { trigger: 'axis' },
    legend: { data: ['Placed', 'Ready'], top: 0 },
    grid: { left: 160, right: 20, top: 30, bottom: 20 },
    xAxis: { type: 'value', minInterval: 1 },
    yAxis: { type: 'category', data: names },
    series: [
      { name: 'Placed', type: 'bar', data: b.clusters.map((c) => c.replicas ?? 0), label: { show: true, position: 'right' } },
      { name: 'Ready', type: 'bar', data: ready },
    ],
  };
}

export function WorkloadPage(props: { namespace: string; name: string }) {
  const live = useLive(paths.bindings);
  const obj = live.items.get(`${props.namespace}/${props.name}`);
  const b = useMemo(() => (obj ? binding(obj) : undefined), [obj]);
  const option = useMemo(() => (b ? placementChart(b) : {}), [b]);
  if (live.loaded && !b) {
    return <section><h1>{props.namespace}/{props.name}</h1><p role="alert" className="error">No ResourceBinding {props.namespace}/{props.name}: the template is not distributed (or no longer). <Link to="/workloads">Back to the workloads</Link>.</p></section>;
  }
  return (
    <section aria-labelledby="workload-title">
      <p className="crumbs"><Link to="/workloads">Workloads</Link> / {props.namespace} / {props.name}</p>
      <h1 id="workload-title">{b ? `${b.resource.kind} ${props.namespace}/${b.resource.name}` : props.name}</h1>
      <Placeholder loading={!live.loaded} error={live.error} empty={false} emptyText="">
        {b ? (
          <>
            <p className="muted">{b.replicas !== undefined ? `${b.replicas} replicas` : 'no replicas: a whole copy on each cluster'} · policy {b.policy ? `${b.policy.kind} ${b.policy.namespace ? `${b.policy.namespace}/` : ''}${b.policy.name}` : 'none'} · scheduled: {b.scheduled}{b.scheduledMessage ? ` (${b.scheduledMessage})` : ''}</p>
            <div className="split">
              <div className="panel">
                <h2>Placement</h2>
                <table className="plain" data-testid="placement">
                  <thead><tr><th scope="col">Cluster</th><th scope="col">Replicas</th><th scope="col">Ready</th><th scope="col">Applied</th><th scope="col">Health</th></tr></thead>
                  <tbody>
                    {b.clusters.length === 0 ? <tr><td colSpan={5} className="empty">Placed on no cluster.</td></tr> : b.clusters.map((c) => {
                      const a = b.aggregated.find((x) => x.cluster === c.name);
                      return (
                        <tr key={c.name} data-cluster={c.name}>
                          <td><Link to={`/clusters/${encodeURIComponent(c.name)}`}>{c.name}</Link></td>
                          <td data-testid={`replicas-${c.name}`}>{b.replicas === undefined ? '—' : c.replicas ?? '—'}</td>
                          <td>{a?.status?.readyReplicas ?? 0}{a?.status?.replicas !== undefined ? `/${a.status.replicas}` : ''}</td>
                          <td>{a?.applied === undefined ? '—' : a.applied ? 'yes' : 'no'}</td>
                          <td>{a?.health ?? '—'}</td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              </div>
              <div className="panel">
                <h2>Replicas by cluster</h2>
                {b.replicas === undefined
                  ? <p className="muted" data-testid="no-replicas">A {b.resource.kind} has no replicas: each cluster above gets a whole copy.</p>
                  : <Chart option={option} height={Math.max(140, 60 + b.clusters.length * 36)} label={`Replicas of ${b.resource.name} by cluster: ${placementText(b)}`} testId="placement-chart" />}
              </div>
            </div>
            <div className="panel">
              <h2>Why these clusters</h2>
              {b.explanation.length === 0 ? <p className="empty">The scheduler has not explained this placement yet.</p> : (
                <table className="plain" data-testid="explanation">
                  <thead><tr><th scope="col">Cluster</th><th scope="col">Result</th><th scope="col">Replicas</th><th scope="col">Score</th><th scope="col">Available</th><th scope="col">Plugin</th><th scope="col">Reason</th></tr></thead>
                  <tbody>{b.explanation.map((e) => (
                    <tr key={e.cluster} className={e.result.toLowerCase()}>
                      <td>{e.cluster}</td><td>{e.result}</td><td>{e.replicas ?? '—'}</td><td>{e.score !== undefined ? Number(e.score.toFixed(2)) : '—'}</td><td>{e.availableReplicas ?? '—'}</td><td>{e.plugin ?? ''}</td><td>{e.reason ?? ''}</td>
                    </tr>
                  ))}</tbody>
                </table>
              )}
            </div>
          </>
        ) : null}
      </Placeholder>
    </section>
  );
}
