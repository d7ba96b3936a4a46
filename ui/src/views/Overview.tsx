/**
 * The fleet overview: the topology (the hub, its fleets, providers and regions, and the clusters
 * in them), health at a glance, and totals of what the fleet has and what is allocated.
 */
import { useMemo } from 'react';
import { useLive } from '../state/live.ts';
import { paths } from '../paths.ts';
import { clusterSummary, formatBytes, formatCores, percent, type ClusterSummary } from '../model.ts';
import { Chart, type ChartOption } from '../components/Chart.tsx';
import { Link } from '../components/Link.tsx';
import { navigate } from '../router.ts';
import { Placeholder } from '../App.tsx';

/** Above this many clusters the graph shows regions (sized by their clusters) instead of each cluster. */
const clusterNodeLimit = 150;

const healthColors = { Ready: '#2e8540', NotReady: '#c0392b', Unknown: '#8a8a8a' };

function topology(clusters: ClusterSummary[], fleets: Array<{ name: string; members: string[] }>): ChartOption {
  const nodes: Array<Record<string, unknown>> = [{ id: 'hub', name: 'hub', category: 0, symbolSize: 36 }];
  const links: Array<{ source: string; target: string }> = [];
  const showClusters = clusters.length <= clusterNodeLimit;
  const providers = new Map<string, Map<string, ClusterSummary[]>>();
  for (const c of clusters) {
    const regions = providers.get(c.provider) ?? new Map<string, ClusterSummary[]>();
    providers.set(c.provider, regions);
    regions.set(c.region, [...(regions.get(c.region) ?? []), c]);
  }
  for (const [provider, regions] of providers) {
    nodes.push({ id: `p:${provider}`, name: provider, category: 2, symbolSize: 26 });
    links.push({ source: 'hub', target: `p:${provider}` });
    for (const [region, members] of regions) {
      const id = `r:${provider}/${region}`;
      nodes.push({ id, name: `${region} (${members.length})`, category: 3, symbolSize: showClusters ? 18 : Math.min(60, 10 + Math.sqrt(members.length) * 5) });
      links.push({ source: `p:${provider}`, target: id });
      if (showClusters) {
        for (const c of members) {
          nodes.push({ id: `c:${c.name}`, name: c.name, category: 4, symbolSize: 14, itemStyle: { color: healthColors[c.health] }, value: c.health });
          links.push({ source: id, target: `c:${c.name}` });
        }
      }
    }
  }
  for (const f of fleets) {
    nodes.push({ id: `f:${f.name}`, name: `fleet ${f.name}`, category: 1, symbolSize: 22, symbol: 'diamond' });
    links.push({ source: 'hub', target: `f:${f.name}` });
    if (showClusters) for (const m of f.members) if (clusters.some((c) => c.name === m)) links.push({ source: `f:${f.name}`, target: `c:${m}` });
  }
  return {
    tooltip: { formatter: (p: { data?: { name?: string; value?: string } }) => `${p.data?.name ?? ''}${p.data?.value ? `: ${p.data.value}` : ''}` },
    legend: { data: ['hub', 'fleet', 'provider', 'region', 'cluster'], bottom: 0 },
    series: [{
      type: 'graph',
      layout: 'force',
      roam: true,
      draggable: true,
      force: { repulsion: showClusters ? 140 : 260, edgeLength: [30, 90], gravity: 0.08, layoutAnimation: false },
      label: { show: nodes.length <= 80, position: 'right', fontSize: 11 },
      categories: [{ name: 'hub' }, { name: 'fleet' }, { name: 'provider' }, { name: 'region' }, { name: 'cluster' }],
      data: nodes,
      links,
      lineStyle: { color: '#9aa5b1', opacity: 0.7 },
    }],
  };
}

function Meter(props: { label: string; used: number; total: number; format: (n: number) => string }) {
  const p = percent(props.used, props.total);
  return (
    <div className="card" data-testid={`total-${props.label.toLowerCase()}`}>
      <div className="card-label">{props.label}</div>
      <div className="card-value">{props.format(props.used)} <span className="muted">/ {props.format(props.total)}</span></div>
      <meter min={0} max={100} value={p} aria-label={`${props.label} allocated: ${p}%`} />
      <div className="muted small">{p}% allocated</div>
    </div>
  );
}

export function Overview() {
  const clusters = useLive(paths.clusters);
  const fleets = useLive(paths.fleets);
  const summaries = useMemo(() => [...clusters.items.values()].map(clusterSummary).sort((a, b) => a.name.localeCompare(b.name)), [clusters.items]);
  const fleetList = useMemo(() => [...fleets.items.values()].map((f) => ({ name: f.metadata.name ?? '', members: ((f.status as { clusters?: string[] } | undefined)?.clusters ?? []) })), [fleets.items]);
  const option = useMemo(() => topology(summaries, fleetList), [summaries, fleetList]);
  const totals = useMemo(() => {
    const t = { nodes: 0, readyNodes: 0, cpu: [0, 0], memory: [0, 0], pods: [0, 0], gpus: [0, 0], ready: 0, notReady: 0, unknown: 0 };
    for (const c of summaries) {
      t.nodes += c.nodes;
      t.readyNodes += c.readyNodes;
      t.cpu[0]! += c.cpu.allocated; t.cpu[1]! += c.cpu.allocatable;
      t.memory[0]! += c.memory.allocated; t.memory[1]! += c.memory.allocatable;
      t.pods[0]! += c.pods.allocated; t.pods[1]! += c.pods.allocatable;
      t.gpus[0]! += c.gpus.allocated; t.gpus[1]! += c.gpus.allocatable;
      if (c.health === 'Ready') t.ready++;
      else if (c.health === 'NotReady') t.notReady++;
      else t.unknown++;
    }
    return t;
  }, [summaries]);
  const regions = useMemo(() => {
    const byRegion = new Map<string, ClusterSummary[]>();
    for (const c of summaries) byRegion.set(`${c.provider} / ${c.region}`, [...(byRegion.get(`${c.provider} / ${c.region}`) ?? []), c]);
    return [...byRegion.entries()].sort(([a], [b]) => a.localeCompare(b));
  }, [summaries]);
  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Fleet overview</h1>
      <Placeholder loading={!clusters.loaded} error={clusters.error} empty={summaries.length === 0} emptyText="No clusters yet: create a Cluster (kubectl apply -f docs/examples/demo-fleet.yaml).">
        <div className="cards" data-testid="overview-totals">
          <div className="card" data-testid="total-clusters">
            <div className="card-label">Clusters</div>
            <div className="card-value">{summaries.length}</div>
            <div className="small"><span className="dot ready" /> {totals.ready} ready · <span className="dot notready" /> {totals.notReady} not ready · <span className="dot unknown" /> {totals.unknown} unknown</div>
          </div>
          <div className="card" data-testid="total-nodes">
            <div className="card-label">Nodes</div>
            <div className="card-value">{totals.readyNodes} <span className="muted">/ {totals.nodes} ready</span></div>
          </div>
          <Meter label="CPU" used={totals.cpu[0]!} total={totals.cpu[1]!} format={(n) => `${formatCores(n)} cores`} />
          <Meter label="Memory" used={totals.memory[0]!} total={totals.memory[1]!} format={formatBytes} />
          <Meter label="Pods" used={totals.pods[0]!} total={totals.pods[1]!} format={(n) => String(Math.round(n))} />
          <Meter label="GPUs" used={totals.gpus[0]!} total={totals.gpus[1]!} format={(n) => String(n)} />
        </div>
        <div className="split">
          <div className="panel graph-panel">
            <h2>Topology</h2>
            <Chart option={option} height={420} label={`Topology: the hub, ${fleetList.length} fleets, ${regions.length} regions and ${summaries.length} clusters`} testId="topology"
              onClick={(p) => { const id = (p.data as { id?: string } | undefined)?.id; if (id?.startsWith('c:')) navigate(`/clusters/${encodeURIComponent(id.slice(2))}`); }} />
          </div>
          <div className="panel regions-panel">
            <h2>Regions</h2>
            <ul className="regions" data-testid="overview-regions">
              {regions.slice(0, 40).map(([region, members]) => (
                <li key={region}>
                  <div className="region-name">{region} <span className="muted">({members.length})</span></div>
                  <div className="cluster-chips">
                    {members.slice(0, 8).map((c) => <Link key={c.name} to={`/clusters/${encodeURIComponent(c.name)}`} className={`chip ${c.health.toLowerCase()}`}>{c.name}</Link>)}
                    {members.length > 8 ? <Link to={`/clusters?q=${encodeURIComponent(members[0]!.region)}`} className="chip more">and {members.length - 8} more</Link> : null}
                  </div>
                </li>
              ))}
              {regions.length > 40 ? <li><Link to="/clusters">{regions.length - 40} more regions in the clusters table</Link></li> : null}
            </ul>
          </div>
        </div>
      </Placeholder>
    </section>
  );
}
