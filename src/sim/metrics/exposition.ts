/**
 * The Prometheus text exposition format (version 0.0.4) and the label conventions the exporters
 * share: metric families with `# HELP` and `# TYPE`, escaped label values, optional millisecond
 * timestamps.
 */

export type Labels = Record<string, string>;

export interface Sample {
  labels: Labels;
  value: number;
  /** Milliseconds since the epoch; absent means "when scraped". */
  timestampMs?: number;
}

export interface MetricFamily {
  name: string;
  type: 'counter' | 'gauge';
  help: string;
  samples: Sample[];
}

/** The content type of the 0.0.4 text format. */
export const textContentType = 'text/plain; version=0.0.4; charset=utf-8';

/** Renders families in the 0.0.4 text format; families without samples keep their HELP and TYPE lines. */
export function formatPrometheusText(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const family of families) {
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
    lines.push(`# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) {
      const ts = sample.timestampMs === undefined ? '' : ` ${Math.round(sample.timestampMs)}`;
      lines.push(`${family.name}${formatLabels(sample.labels)} ${formatValue(sample.value)}${ts}`);
    }
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** `{a="1",b="2"}` with values escaped; empty labels give an empty string. */
export function formatLabels(labels: Labels): string {
  const parts: string[] = [];
  for (const [name, value] of Object.entries(labels)) parts.push(`${name}="${escapeLabelValue(value)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample value as Prometheus parses it: integers plainly, NaN and infinities by name. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** A Kubernetes label or resource name as a Prometheus label name part, as kube-state-metrics writes it. */
export function sanitizeLabelName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, '_');
}
