/**
 * One cluster: its conditions, capacity, a heat map of its nodes' utilisation (requests over
 * allocatable, read through the hub's member proxy), taints, labels and recent events.
 */
import { useEffect, useMemo, useState } from 'react';
import { useLive, currentClient } from '../state/live.ts';
import { paths } from '../paths.ts';
import { age, clusterSummary, conditions, formatBytes, formatCores, percent, quantity } from '../model.ts';
import type { WatchedObject } from '../state/reducer.ts';
import { Chart, type ChartOption } from '../components/Chart.tsx';
import { Link } from '../components/Link.tsx';
import { Placeholder } from '../App.tsx';

interface NodeUse {
  name: string;
  ready: boolean;
  cpu: number;
  memory: number;
  pods: number;
}

/** Node utilisation: per node, the share of its allocatable CPU, memory and pod slots that active pods request. */
function nodeUse(nodes: WatchedObject[], pods: WatchedObject[]): NodeUse[] {
  const requested = new Map<string, { cpu: number; memory: number; pods: number }>();
  for (const pod of pods) {
    const spec = (pod.spec ?? {}) as { nodeName?: string; containers?: Array<{ resources?: { requests?: Record<string, string> } }> };
    const phase = (pod.status as { phase?: string } | undefined)?.phase;
    if (!spec.nodeName || phase === 'Succeeded' || phase === 'Failed') continue;
    const r = requested.get(spec.nodeName) ?? { cpu: 0, memory: 0, pods: 0 };
    for (const c of spec.containers ?? []) {
      r.cpu += quantity(c.resources?.requests?.cpu);
      r.memory += quantity(c.resources?.requests?.memory);
    }
    r.pods += 1;
    requested.set(spec.nodeName, r);
  }
  return nodes.map((n) => {
    const status = (n.status ?? {}) as { allocatable?: Record<string, string>; conditions?: Array<{ type: string; status: string }> };
    const a = status.allocatable ?? {};
    const r = requested.get(n.metadata.name ?? '') ?? { cpu: 0, memory: 0, pods: 0 };
    return {
      name: n.metadata.name ?? '',
      ready: (status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
      cpu: percent(r.cpu, quantity(a.cpu)),
      memory: percent(r.memory, quantity(a.memory)),
      pods: percent(r.pods, quantity(a.pods)),
    };
  }).sort((x, y) => x.name.localeCompare(y.name));
}

const metrics = ['CPU requested', 'Memory requested', 'Pod slots used'] as const;

function heatMap(use: NodeUse[]): ChartOption {
  const data: Array<[number, number, number]> = [];
  use.forEach((n, y) => {
    data.push([0, y, n.cpu], [1, y, n.memory], [2, y, n.pods]);
  });
  return {
    tooltip: { formatter: (p: { value: [number, number, number] }) => `${use[p.value[1]]?.name}: ${metrics[p.value[0]]} ${p.value[2]}%` },
    grid: { left: 220, right: 90, top: 10, bottom: 40 },
    xAxis: { type: 'category', data: [...metrics], splitArea: { show: true } },
    yAxis: { type: 'category', data: use.map((n) => n.name), splitArea: { show: true }, axisLabel: { fontSize: 11 } },
    visualMap: { min: 0, max: 100, calculable: true, orient: 'vertical', right: 0, top: 'center', text: ['100%', '0%'], inRange: { color: ['#e8f4ea', '#f7d774', '#e67e22', '#c0392b'] } },
    series: [{ type: 'heatmap', data, label: { show: true, formatter: (p: { value: [number, number, number] }) => `${p.value[2]}%` } }],
  };
}

/** Lists the member's nodes and pods through the hub every few seconds while the page is open. */
function useNodeUse(cluster: string): { use?: NodeUse[]; error?: string } {
  const [state, setState] = useState<{ use?: NodeUse[]; error?: string }>({});
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      try {
        const client = currentClient();
        const [nodes, pods] = await Promise.all([client.list(paths.memberNodes(cluster)), client.list(paths.memberPods(cluster))]);
        if (!stopped) setState({ use: nodeUse(nodes.items, pods.items) });
      } catch (err) {
        if (!stopped) setState((s) => ({ ...s, error: err instanceof Error ? err.message : String(err) }));
      }
      if (!stopped) timer = setTimeout(load, 5000);
    };
    void load();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [cluster]);
  return state;
}

export function ClusterPage(props: { name: string }) {
  const clusters = useLive(paths.clusters);
  const events = useLive(paths.events);
  const cluster = clusters.items.get(props.name);
  const nodes = useNodeUse(props.name);
  const option = useMemo(() => heatMap(nodes.use ?? []), [nodes.use]);
  const recent = useMemo(() => [...events.items.values()]
    .filter((e) => { const o = e.involvedObject as { kind?: string; name?: string } | undefined; return o?.kind === 'Cluster' && o.name === props.name; })
    .sort((a, b) => String(b.lastTimestamp ?? '').localeCompare(String(a.lastTimestamp ?? '')))
    .slice(0, 20), [events.items, props.name]);
  if (clusters.loaded && !cluster) {
    return <section><h1>Cluster {props.name}</h1><p role="alert" className="error">There is no cluster named {props.name}. <Link to="/clusters">Back to the clusters</Link>.</p></section>;
  }
  const s = cluster ? clusterSummary(cluster) : undefined;
  const status = (cluster?.status ?? {}) as Record<string, Record<string, string> | undefined>;
  const taints = ((cluster?.spec as { taints?: Array<{ key: string; value?: string; effect: string }> } | undefined)?.taints) ?? [];
  return (
    <section aria-labelledby="cluster-title">
      <p className="crumbs"><Link to="/clusters">Clusters</Link> / {props.name}</p>
      <h1 id="cluster-title">{props.name} {s ? <span className={`badge ${s.health.toLowerCase()}`}>{s.health}</span> : null}</h1>
      <Placeholder loading={!clusters.loaded} error={clusters.error} empty={false} emptyText="">
        {s && cluster ? (
          <>
            <p className="muted">{s.provider} · {s.region}{s.zone ? ` · ${s.zone}` : ''} · {s.mode}{s.access === 'ReadOnly' ? ' (read-only: another hub owns its workloads)' : ''} · {s.version || 'version unknown'} · {s.readyNodes}/{s.nodes} nodes ready</p>
            <div className="split">
              <div className="panel">
                <h2>Conditions</h2>
                <table className="plain" data-testid="conditions">
                  <thead><tr><th scope="col">Type</th><th scope="col">Status</th><th scope="col">Reason</th><th scope="col">Message</th><th scope="col">Since</th></tr></thead>
                  <tbody>{conditions(cluster).map((c) => <tr key={c.type}><td>{c.type}</td><td>{c.status}</td><td>{c.reason}</td><td>{c.message}</td><td>{age(c.lastTransitionTime)}</td></tr>)}</tbody>
                </table>
                <h2>Capacity</h2>
                <table className="plain" data-testid="capacity">
                  <thead><tr><th scope="col">Resource</th><th scope="col">Capacity</th><th scope="col">Allocatable</th><th scope="col">Allocated</th></tr></thead>
                  <tbody>
                    {[...new Set([...Object.keys(status.capacity ?? {}), ...Object.keys(status.allocatable ?? {})])].sort().map((r) => {
                      const fmt = (v: string | undefined) => (v === undefined ? '—' : r === 'cpu' ? formatCores(quantity(v)) : /memory|storage/.test(r) ? formatBytes(quantity(v)) : v);
                      return <tr key={r}><td>{r}</td><td>{fmt(status.capacity?.[r])}</td><td>{fmt(status.allocatable?.[r])}</td><td>{fmt(status.allocated?.[r])}</td></tr>;
                    })}
                  </tbody>
                </table>
              </div>
              <div className="panel">
                <h2>Taints</h2>
                {taints.length === 0 ? <p className="empty">No taints.</p> : <ul data-testid="taints">{taints.map((t) => <li key={`${t.key}:${t.effect}`}><code>{t.key}{t.value ? `=${t.value}` : ''}:{t.effect}</code></li>)}</ul>}
                <h2>Labels</h2>
                <ul className="labels" data-testid="labels">{Object.entries(s.labels).map(([k, v]) => <li key={k}><code>{k}={v}</code></li>)}</ul>
              </div>
            </div>
            <div className="panel">
              <h2>Node utilisation</h2>
              {nodes.error ? <p role="alert" className="error">{nodes.error}</p> : null}
              {!nodes.use ? (nodes.error ? null : <p role="status" className="loading">Loading nodes…</p>) : nodes.use.length === 0 ? <p className="empty">This cluster reports no nodes.</p> : (
                <>
                  <Chart option={option} height={Math.max(160, 60 + nodes.use.length * 28)} label={`Heat map of requested CPU, memory and pod slots on ${nodes.use.length} nodes of ${props.name}`} testId="node-heatmap" />
                  <details>
                    <summary>Node utilisation as a table</summary>
                    <table className="plain" data-testid="node-table">
                      <thead><tr><th scope="col">Node</th><th scope="col">Ready</th><th scope="col">CPU %</th><th scope="col">Memory %</th><th scope="col">Pods %</th></tr></thead>
                      <tbody>{nodes.use.map((n) => <tr key={n.name}><td>{n.name}</td><td>{n.ready ? 'yes' : 'no'}</td><td>{n.cpu}</td><td>{n.memory}</td><td>{n.pods}</td></tr>)}</tbody>
                    </table>
                  </details>
                </>
              )}
            </div>
            <div className="panel">
              <h2>Recent events</h2>
              {recent.length === 0 ? <p className="empty">No events for this cluster.</p> : (
                <ul className="events" data-testid="cluster-events">{recent.map((e) => <li key={e.metadata.uid as string ?? e.metadata.name}><span className={`badge ${String(e.type).toLowerCase()}`}>{String(e.type)}</span> <strong>{String(e.reason)}</strong> {String(e.message)} <span className="muted">{age(e.lastTimestamp)}</span></li>)}</ul>
              )}
            </div>
          </>
        ) : null}
      </Placeholder>
    </section>
  );
}
