/**
 * A virtualised list: only the rows in view (plus a few) are in the DOM, so a thousand clusters
 * scroll as smoothly as ten. It is one focusable listbox-like grid: arrow keys, Page Up/Down,
 * Home and End move the active row, Enter opens it.
 */
import { useEffect, useRef, useState, type ReactNode } from 'react';

export interface VirtualListProps {
  count: number;
  rowHeight: number;
  height: number;
  label: string;
  renderRow: (index: number, active: boolean) => ReactNode;
  onActivate?: (index: number) => void;
  testId?: string;
}

const overscan = 8;

export function VirtualList(props: VirtualListProps) {
  const { count, rowHeight, height } = props;
  const box = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [active, setActive] = useState(-1);
  useEffect(() => {
    if (active >= count) setActive(count - 1);
  }, [count, active]);
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(count, Math.ceil((scrollTop + height) / rowHeight) + overscan);
  const move = (to: number) => {
    const next = Math.max(0, Math.min(count - 1, to));
    setActive(next);
    const el = box.current;
    if (!el) return;
    if (next * rowHeight < el.scrollTop) el.scrollTop = next * rowHeight;
    else if ((next + 1) * rowHeight > el.scrollTop + height) el.scrollTop = (next + 1) * rowHeight - height;
  };
  const page = Math.max(1, Math.floor(height / rowHeight) - 1);
  const rows: ReactNode[] = [];
  for (let i = first; i < last; i++) {
    rows.push(
      <div key={i} role="row" id={`${props.testId ?? 'row'}-${i}`} aria-rowindex={i + 1} aria-selected={i === active}
        className={i === active ? 'vrow active' : 'vrow'} style={{ position: 'absolute', top: i * rowHeight, height: rowHeight, left: 0, right: 0 }}
        onClick={() => { setActive(i); props.onActivate?.(i); }}>
        {props.renderRow(i, i === active)}
      </div>,
    );
  }
  return (
    <div ref={box} role="grid" aria-label={props.label} aria-rowcount={count} tabIndex={0} data-testid={props.testId}
      aria-activedescendant={active >= 0 ? `${props.testId ?? 'row'}-${active}` : undefined}
      className="vlist" style={{ height, overflowY: 'auto', position: 'relative' }}
      onScroll={(e) => setScrollTop((e.target as HTMLDivElement).scrollTop)}
      onKeyDown={(e) => {
        const keys: Record<string, number> = { ArrowDown: active + 1, ArrowUp: active - 1, PageDown: active + page, PageUp: active - page, Home: 0, End: count - 1 };
        if (e.key in keys) {
          e.preventDefault();
          move(keys[e.key]!);
        } else if (e.key === 'Enter' && active >= 0) {
          e.preventDefault();
          props.onActivate?.(active);
        }
      }}>
      <div style={{ height: count * rowHeight, position: 'relative' }}>{rows}</div>
    </div>
  );
}
