/**
 * Policies: distribution and override policies (namespaced and cluster-wide), their detail, and a
 * YAML editor that applies through the API: a server-side dry run first (`dryRun=All`), then the
 * apply itself, with the API's validation causes shown beside the lines they name.
 */
import { useMemo, useRef, useState } from 'react';
import { parseDocument, stringify } from 'yaml';
import { useLive, currentClient } from '../state/live.ts';
import { policyGroupVersion, policyKinds, policyPath } from '../paths.ts';
import { age, conditions } from '../model.ts';
import { lineOfField } from '../state/yaml-fields.ts';
import { ApiError } from '../api/client.ts';
import type { WatchedObject } from '../state/reducer.ts';
import { Link } from '../components/Link.tsx';
import { navigate } from '../router.ts';
import { Placeholder } from '../App.tsx';

type PolicyKind = (typeof policyKinds)[number];

function kindByPlural(plural: string): PolicyKind | undefined {
  return policyKinds.find((k) => k.plural === plural);
}

function usePolicies() {
  const lists = policyKinds.map((k) => ({ kind: k, live: useLive(policyPath(k.plural)) }));
  return lists;
}

export function Policies() {
  const lists = usePolicies();
  const loading = lists.some((l) => !l.live.loaded);
  const error = lists.find((l) => l.live.error)?.live.error;
  const rows = lists.flatMap((l) => [...l.live.items.values()].map((o) => ({ kind: l.kind, obj: o })))
    .sort((a, b) => `${a.kind.kind}/${a.obj.metadata.namespace ?? ''}/${a.obj.metadata.name}`.localeCompare(`${b.kind.kind}/${b.obj.metadata.namespace ?? ''}/${b.obj.metadata.name}`));
  return (
    <section aria-labelledby="policies-title">
      <h1 id="policies-title">Policies</h1>
      <div className="toolbar"><Link to="/policies/new" className="button">New policy</Link></div>
      <Placeholder loading={loading} error={error} empty={rows.length === 0} emptyText="No policies yet: create one with “New policy”.">
        <table className="plain" data-testid="policies-table">
          <thead><tr><th scope="col">Kind</th><th scope="col">Namespace</th><th scope="col">Name</th><th scope="col">Matched</th><th scope="col">Ready</th><th scope="col">Age</th></tr></thead>
          <tbody>
            {rows.map(({ kind, obj }) => {
              const to = `/policies/${kind.plural}/${kind.namespaced ? `${encodeURIComponent(obj.metadata.namespace ?? '')}/` : ''}${encodeURIComponent(obj.metadata.name ?? '')}`;
              const ready = conditions(obj).find((c) => c.type === 'Ready' || c.type === 'Applied');
              return (
                <tr key={`${kind.plural}/${obj.metadata.namespace ?? ''}/${obj.metadata.name}`}>
                  <td>{kind.kind}</td><td>{obj.metadata.namespace ?? '—'}</td><td><Link to={to}>{obj.metadata.name}</Link></td>
                  <td>{String((obj.status as { matchedResources?: number } | undefined)?.matchedResources ?? '—')}</td>
                  <td>{ready ? `${ready.status}${ready.reason ? ` (${ready.reason})` : ''}` : '—'}</td>
                  <td>{age(obj.metadata.creationTimestamp)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </Placeholder>
    </section>
  );
}

const newPolicy = `apiVersion: ${policyGroupVersion}
kind: DistributionPolicy
metadata:
  name: my-policy
  namespace: default
spec:
  resourceSelectors:
    - apiVersion: apps/v1
      kind: Deployment
      name: my-app
  placement:
    clusterAffinity:
      labelSelector:
        matchLabels:
          nephele.dev/fleet: demo
    replicaScheduling:
      replicaSchedulingType: Divided
      replicaDivisionPreference: Aggregated
`;

/** The object as one would write it: without server-set metadata and status. */
function editable(obj: WatchedObject): string {
  const { metadata, status: _status, ...rest } = obj;
  void _status;
  const { name, namespace, labels, annotations } = metadata;
  return stringify({ ...rest, metadata: { name, ...(namespace ? { namespace } : {}), ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) } });
}

export function PolicyPage(props: { kind: string; namespace: string; name: string }) {
  const isNew = props.kind === 'new';
  const kind = kindByPlural(props.kind);
  const live = useLive(policyPath(kind?.plural ?? 'distributionpolicies'));
  const obj = kind ? live.items.get(props.namespace ? `${props.namespace}/${props.name}` : props.name) : undefined;
  if (!isNew && !kind) return <section><h1>Policies</h1><p role="alert" className="error">Unknown policy kind “{props.kind}”: the portal shows {policyKinds.map((k) => k.plural).join(', ')}.</p></section>;
  if (!isNew && live.loaded && !obj) {
    return <section><h1>{props.name}</h1><p role="alert" className="error">No {kind!.kind} {props.namespace ? `${props.namespace}/` : ''}{props.name}. <Link to="/policies">Back to the policies</Link>.</p></section>;
  }
  return (
    <section aria-labelledby="policy-title">
      <p className="crumbs"><Link to="/policies">Policies</Link> / {isNew ? 'new' : `${kind!.kind} ${props.namespace ? `${props.namespace}/` : ''}${props.name}`}</p>
      <h1 id="policy-title">{isNew ? 'New policy' : props.name}</h1>
      {isNew ? <PolicyEditor initial={newPolicy} /> : (
        <Placeholder loading={!live.loaded} error={live.error} empty={false} emptyText="">
          {obj ? (
            <>
              <div className="panel">
                <h2>Status</h2>
                <p>Matched resources: {String((obj.status as { matchedResources?: number } | undefined)?.matchedResources ?? '—')}</p>
                {conditions(obj).length === 0 ? <p className="empty">No conditions reported.</p> : (
                  <ul>{conditions(obj).map((c) => <li key={c.type}>{c.type}: {c.status}{c.reason ? ` (${c.reason})` : ''}{c.message ? `: ${c.message}` : ''}</li>)}</ul>
                )}
              </div>
              <PolicyEditor key={`${props.kind}/${props.namespace}/${props.name}`} initial={editable(obj)} />
            </>
          ) : null}
        </Placeholder>
      )}
    </section>
  );
}

interface FieldError {
  line: number;
  field: string;
  message: string;
}

const lineHeight = 20;

/** The YAML editor: a text area with line numbers, and each error shown at its field's line. */
function PolicyEditor(props: { initial: string }) {
  const [text, setText] = useState(props.initial);
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [message, setMessage] = useState<{ kind: 'error' | 'ok' | 'busy'; text: string }>();
  const [scroll, setScroll] = useState(0);
  const area = useRef<HTMLTextAreaElement>(null);
  const lines = useMemo(() => text.split('\n').length, [text]);

  const apply = async () => {
    setErrors([]);
    const doc = parseDocument(text);
    if (doc.errors.length > 0) {
      const e = doc.errors[0]!;
      setErrors(doc.errors.map((err) => ({ line: err.linePos?.[0]?.line ?? 1, field: '', message: err.message.split('\n')[0]! })));
      setMessage({ kind: 'error', text: `The YAML cannot be read: ${e.message.split('\n')[0]}` });
      return;
    }
    const obj = doc.toJS() as { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string } } | null;
    const kind = policyKinds.find((k) => k.kind === obj?.kind);
    if (!obj || obj.apiVersion !== policyGroupVersion || !kind) {
      setMessage({ kind: 'error', text: `The editor applies policies: set apiVersion: ${policyGroupVersion} and kind to one of ${policyKinds.map((k) => k.kind).join(', ')}.` });
      setErrors([{ line: lineOfField(text, obj?.apiVersion !== policyGroupVersion ? 'apiVersion' : 'kind'), field: obj?.apiVersion !== policyGroupVersion ? 'apiVersion' : 'kind', message: 'not a policy kind of this portal' }]);
      return;
    }
    const name = obj.metadata?.name;
    if (!name) {
      setMessage({ kind: 'error', text: 'Give the policy a name: metadata.name is required.' });
      setErrors([{ line: lineOfField(text, 'metadata.name'), field: 'metadata.name', message: 'Required value' }]);
      return;
    }
    const namespace = kind.namespaced ? obj.metadata?.namespace ?? 'default' : undefined;
    const path = `/apis/${policyGroupVersion}${namespace ? `/namespaces/${encodeURIComponent(namespace)}` : ''}/${kind.plural}/${encodeURIComponent(name)}?fieldManager=nephele-portal&force=true`;
    const body = JSON.stringify(obj);
    const client = currentClient();
    try {
      setMessage({ kind: 'busy', text: 'Checking with a server-side dry run…' });
      await client.request('PATCH', `${path}&dryRun=All`, body, 'application/apply-patch+yaml');
      setMessage({ kind: 'busy', text: 'Dry run passed; applying…' });
      await client.request('PATCH', path, body, 'application/apply-patch+yaml');
      setMessage({ kind: 'ok', text: `Applied ${kind.kind} ${namespace ? `${namespace}/` : ''}${name}.` });
      navigate(`/policies/${kind.plural}/${namespace ? `${encodeURIComponent(namespace)}/` : ''}${encodeURIComponent(name)}`, true);
    } catch (err) {
      if (err instanceof ApiError) {
        setMessage({ kind: 'error', text: err.message });
        setErrors(err.causes.filter((c) => c.field).map((c) => ({ line: lineOfField(text, c.field!), field: c.field!, message: c.message ?? c.reason ?? 'invalid' })));
      } else {
        setMessage({ kind: 'error', text: err instanceof Error ? err.message : String(err) });
      }
    }
  };

  const byLine = new Map<number, FieldError[]>();
  for (const e of errors) byLine.set(e.line, [...(byLine.get(e.line) ?? []), e]);
  const height = Math.min(28, Math.max(12, lines + 1)) * lineHeight;
  return (
    <div className="panel">
      <h2>YAML</h2>
      <div className="editor" style={{ height }}>
        <div className="gutter" aria-hidden="true" style={{ transform: `translateY(${-scroll}px)` }}>
          {Array.from({ length: lines }, (_, i) => <div key={i} className={byLine.has(i + 1) ? 'gutter-line bad' : 'gutter-line'}>{i + 1}</div>)}
        </div>
        <textarea ref={area} id="policy-yaml" aria-label="Policy YAML" spellCheck={false} value={text} wrap="off"
          aria-invalid={errors.length > 0 ? true : undefined} aria-describedby={errors.length > 0 ? 'policy-errors' : undefined}
          onChange={(e) => { setText(e.target.value); }} onScroll={(e) => setScroll((e.target as HTMLTextAreaElement).scrollTop)} />
        <div className="markers" style={{ transform: `translateY(${-scroll}px)` }}>
          {[...byLine.entries()].map(([line, errs]) => (
            <div key={line} className="field-error" data-testid="field-error" data-field={errs.map((e) => e.field).join(' ')} data-line={line} style={{ top: (line - 1) * lineHeight }}
              onClick={() => area.current?.focus()}>
              ◀ {errs.map((e) => `${e.field ? `${e.field}: ` : ''}${e.message}`).join('; ')}
            </div>
          ))}
        </div>
      </div>
      <div className="toolbar">
        <button type="button" onClick={() => void apply()} disabled={message?.kind === 'busy'}>Dry run and apply</button>
        {message ? <span role={message.kind === 'error' ? 'alert' : 'status'} className={message.kind === 'error' ? 'error' : message.kind === 'ok' ? 'ok' : 'muted'} data-testid="apply-result">{message.text}</span> : null}
      </div>
      {errors.length > 0 ? (
        <ul id="policy-errors" className="error-list">
          {errors.map((e, i) => <li key={i}><button type="button" className="linkish" onClick={() => {
            const el = area.current;
            if (!el) return;
            const offset = text.split('\n').slice(0, e.line - 1).join('\n').length + (e.line > 1 ? 1 : 0);
            el.focus();
            el.setSelectionRange(offset, offset);
            el.scrollTop = Math.max(0, (e.line - 3) * lineHeight);
          }}>line {e.line}</button> {e.field ? <code>{e.field}</code> : null} {e.message}</li>)}
        </ul>
      ) : null}
    </div>
  );
}
