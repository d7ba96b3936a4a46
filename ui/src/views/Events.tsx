/** Events: the hub's events as they happen, newest first, filterable by type and text. */
import { useMemo } from 'react';
import { useLive } from '../state/live.ts';
import { paths } from '../paths.ts';
import { age } from '../model.ts';
import { VirtualList } from '../components/VirtualList.tsx';
import { setQuery, useRoute } from '../router.ts';
import { Placeholder } from '../App.tsx';

export function Events() {
  const live = useLive(paths.events);
  const route = useRoute();
  const text = route.query.get('q') ?? '';
  const type = route.query.get('type') ?? '';
  const rows = useMemo(() => [...live.items.values()]
    .filter((e) => !type || e.type === type)
    .filter((e) => {
      if (!text) return true;
      const o = (e.involvedObject ?? {}) as { kind?: string; name?: string; namespace?: string };
      return `${e.reason} ${e.message} ${o.kind}/${o.name} ${o.namespace ?? ''}`.toLowerCase().includes(text.toLowerCase());
    })
    .sort((a, b) => String(b.lastTimestamp ?? b.eventTime ?? '').localeCompare(String(a.lastTimestamp ?? a.eventTime ?? ''))), [live.items, text, type]);
  const template = '0.6fr 0.5fr 1.1fr 1.6fr 4fr 0.4fr';
  return (
    <section aria-labelledby="events-title">
      <h1 id="events-title">Events</h1>
      <div className="toolbar">
        <label htmlFor="event-filter">Filter events</label>
        <input id="event-filter" type="search" placeholder="reason, message or object" value={text} onChange={(e) => setQuery('q', e.target.value)} />
        <label htmlFor="event-type">Type</label>
        <select id="event-type" value={type} onChange={(e) => setQuery('type', e.target.value)}>
          <option value="">All</option>
          <option value="Normal">Normal</option>
          <option value="Warning">Warning</option>
        </select>
        <span className="muted" role="status">{rows.length} events</span>
      </div>
      <Placeholder loading={!live.loaded} error={live.error} empty={rows.length === 0} emptyText={live.items.size === 0 ? 'No events yet.' : 'No event matches the filter.'}>
        <div className="table">
          <div className="thead" role="row" style={{ gridTemplateColumns: template }}>
            <div role="columnheader">Last seen</div><div role="columnheader">Type</div><div role="columnheader">Reason</div><div role="columnheader">Object</div><div role="columnheader">Message</div><div role="columnheader">Count</div>
          </div>
          <VirtualList count={rows.length} rowHeight={34} height={560} label="Events" testId="events-table"
            renderRow={(i) => {
              const e = rows[i]!;
              const o = (e.involvedObject ?? {}) as { kind?: string; name?: string; namespace?: string };
              return (
                <div className="trow" style={{ gridTemplateColumns: template }}>
                  <div role="gridcell">{age(e.lastTimestamp ?? e.eventTime)}</div>
                  <div role="gridcell"><span className={`badge ${String(e.type).toLowerCase()}`}>{String(e.type)}</span></div>
                  <div role="gridcell">{String(e.reason ?? '')}</div>
                  <div role="gridcell">{o.kind}/{o.namespace ? `${o.namespace}/` : ''}{o.name}</div>
                  <div role="gridcell" title={String(e.message ?? '')}>{String(e.message ?? '')}</div>
                  <div role="gridcell">{String(e.count ?? 1)}</div>
                </div>
              );
            }} />
        </div>
      </Placeholder>
    </section>
  );
}
