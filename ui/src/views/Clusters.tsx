/** The clusters table: sortable by any column, filterable by name, provider, region or label. */
import { useMemo } from 'react';
import { useLive } from '../state/live.ts';
import { paths } from '../paths.ts';
import { clusterSummary, percent, type ClusterSummary } from '../model.ts';
import { VirtualList } from '../components/VirtualList.tsx';
import { Link } from '../components/Link.tsx';
import { navigate, setQuery, useRoute } from '../router.ts';
import { Placeholder } from '../App.tsx';

interface Column {
  id: string;
  label: string;
  width: string;
  value: (c: ClusterSummary) => string | number;
  render?: (c: ClusterSummary) => React.ReactNode;
}

const columns: Column[] = [
  { id: 'name', label: 'Name', width: '2fr', value: (c) => c.name, render: (c) => <><Link to={`/clusters/${encodeURIComponent(c.name)}`}>{c.name}</Link>{c.access === 'ReadOnly' ? <> <span className="badge read-only" title="Shared with another hub that owns its workloads: this hub only observes it">read-only</span></> : null}</> },
  { id: 'health', label: 'Health', width: '1fr', value: (c) => c.health, render: (c) => <span className={`badge ${c.health.toLowerCase()}`}>{c.health}</span> },
  { id: 'provider', label: 'Provider', width: '0.8fr', value: (c) => c.provider },
  { id: 'region', label: 'Region', width: '1.2fr', value: (c) => c.region },
  { id: 'nodes', label: 'Nodes', width: '0.7fr', value: (c) => c.nodes, render: (c) => `${c.readyNodes}/${c.nodes}` },
  { id: 'cpu', label: 'CPU %', width: '0.7fr', value: (c) => percent(c.cpu.allocated, c.cpu.allocatable) },
  { id: 'memory', label: 'Memory %', width: '0.8fr', value: (c) => percent(c.memory.allocated, c.memory.allocatable) },
  { id: 'gpus', label: 'GPUs', width: '0.6fr', value: (c) => c.gpus.allocatable, render: (c) => `${c.gpus.allocated}/${c.gpus.allocatable}` },
  { id: 'labels', label: 'Labels', width: '3fr', value: (c) => Object.entries(c.labels).map(([k, v]) => `${k}=${v}`).join(', ') },
];

const template = columns.map((c) => c.width).join(' ');

function matches(c: ClusterSummary, filter: string): boolean {
  if (!filter) return true;
  const f = filter.toLowerCase();
  return c.name.toLowerCase().includes(f) || c.provider.toLowerCase().includes(f) || c.region.toLowerCase().includes(f) || c.health.toLowerCase() === f
    || Object.entries(c.labels).some(([k, v]) => `${k}=${v}`.toLowerCase().includes(f));
}

export function Clusters() {
  const route = useRoute();
  const live = useLive(paths.clusters);
  const filter = route.query.get('q') ?? '';
  const sort = route.query.get('sort') ?? 'name';
  const descending = sort.startsWith('-');
  const sortColumn = columns.find((c) => c.id === sort.replace(/^-/, '')) ?? columns[0]!;
  const all = useMemo(() => [...live.items.values()].map(clusterSummary), [live.items]);
  const rows = useMemo(() => {
    const filtered = all.filter((c) => matches(c, filter));
    filtered.sort((a, b) => {
      const x = sortColumn.value(a);
      const y = sortColumn.value(b);
      const order = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
      return (descending ? -order : order) || a.name.localeCompare(b.name);
    });
    return filtered;
  }, [all, filter, sortColumn, descending]);
  return (
    <section aria-labelledby="clusters-title">
      <h1 id="clusters-title">Clusters</h1>
      <div className="toolbar">
        <label htmlFor="cluster-filter">Filter clusters</label>
        <input id="cluster-filter" type="search" placeholder="name, provider, region, label=value" value={filter} onChange={(e) => setQuery('q', e.target.value)} />
        <span className="muted" role="status" data-testid="cluster-count">{rows.length} of {all.length} clusters</span>
      </div>
      <Placeholder loading={!live.loaded} error={live.error} empty={all.length === 0} emptyText="No clusters yet: create a Cluster (kubectl apply -f docs/examples/demo-fleet.yaml).">
        <div className="table" role="presentation">
          <div className="thead" role="row" style={{ gridTemplateColumns: template }}>
            {columns.map((c) => {
              const active = sortColumn.id === c.id;
              return (
                <div key={c.id} role="columnheader" aria-sort={active ? (descending ? 'descending' : 'ascending') : 'none'}>
                  <button type="button" onClick={() => setQuery('sort', active && !descending ? `-${c.id}` : c.id)} aria-label={`Sort by ${c.label}`}>
                    {c.label}{active ? (descending ? ' ▼' : ' ▲') : ''}
                  </button>
                </div>
              );
            })}
          </div>
          {rows.length === 0 ? <p className="empty">No cluster matches “{filter}”.</p> : (
            <VirtualList count={rows.length} rowHeight={34} height={Math.min(560, rows.length * 34 + 2)} label="Clusters" testId="clusters-table"
              onActivate={(i) => navigate(`/clusters/${encodeURIComponent(rows[i]!.name)}`)}
              renderRow={(i) => {
                const c = rows[i]!;
                return (
                  <div className="trow" style={{ gridTemplateColumns: template }} data-cluster={c.name}>
                    {columns.map((col) => <div key={col.id} role="gridcell" className={`cell-${col.id}`} title={col.id === 'labels' ? String(col.value(c)) : undefined}>{col.render ? col.render(c) : col.value(c)}</div>)}
                  </div>
                );
              }} />
          )}
        </div>
      </Placeholder>
    </section>
  );
}
