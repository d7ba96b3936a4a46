/**
 * The portal's URLs: every view has one under /ui/ (deep links), kept in the browser's history.
 * Filters and sort orders live in the query string so they survive a reload and can be shared.
 */
import { useSyncExternalStore, type MouseEvent } from 'react';

const base = '/ui';
const listeners = new Set<() => void>();

function notify(): void {
  for (const l of listeners) l();
}

if (typeof window !== 'undefined') window.addEventListener('popstate', notify);

function subscribe(l: () => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

/** The current location inside the app: path without /ui, and the query string. */
export interface Route {
  path: string;
  segments: string[];
  query: URLSearchParams;
}

let cachedHref = '';
let cachedRoute: Route = { path: '/', segments: [], query: new URLSearchParams() };

function snapshot(): Route {
  if (window.location.href !== cachedHref) {
    cachedHref = window.location.href;
    const path = window.location.pathname.startsWith(base) ? window.location.pathname.slice(base.length) || '/' : '/';
    cachedRoute = { path, segments: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(window.location.search) };
  }
  return cachedRoute;
}

export function useRoute(): Route {
  return useSyncExternalStore(subscribe, snapshot);
}

/** Goes to `to` (a path inside the app, with an optional query), adding a history entry unless `replace`. */
export function navigate(to: string, replace = false): void {
  const href = `${base}${to.startsWith('/') ? to : `/${to}`}`;
  if (replace) window.history.replaceState(null, '', href);
  else window.history.pushState(null, '', href);
  notify();
}

/** Replaces one query parameter of the current URL (empty removes it), without a history entry. */
export function setQuery(name: string, value: string): void {
  const url = new URL(window.location.href);
  if (value) url.searchParams.set(name, value);
  else url.searchParams.delete(name);
  window.history.replaceState(null, '', url);
  notify();
}

/** An app link's click handler: plain clicks navigate in place, modified clicks open as the browser would. */
export function onLinkClick(to: string) {
  return (e: MouseEvent) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
}

export function href(to: string): string {
  return `${base}${to}`;
}
