/**
 * `npm run bench -- fleet`: the three fleet benchmarks in one report.
 *
 * (a) registration: creating a simulated Cluster to its Ready condition (bench/fleet-registration.ts);
 * (b) placement: one placement decision over a large fleet (bench/fleet-placement.ts);
 * (c) distribution: applying a Deployment on the hub to all its pods Running on members
 *     (bench/fleet-distribution.ts).
 *
 * Each part can also run on its own with `node bench/fleet-PART.ts --help`.
 */
import { benchArgs, emitReport, exposeGc, machineInfo, numberArg, type BenchReport, type BenchResult } from './report.ts';
import { runRegistrationBench } from './fleet-registration.ts';
import { runPlacementBench } from './fleet-placement.ts';
import { runDistributionBench } from './fleet-distribution.ts';

const usage = `usage: npm run -s bench -- fleet [--json] [--record] [--parts registration,placement,distribution]
       [--clusters N (registration, default 1000)] [--nodes M (default 100)] [--member-controllers]
       [--deployments N (distribution, default 1000)]`;

export async function main(argv: string[]): Promise<void> {
  const values = benchArgs(argv, {
    parts: { type: 'string' }, clusters: { type: 'string' }, nodes: { type: 'string' }, deployments: { type: 'string' },
    'member-controllers': { type: 'boolean', default: false },
  }, usage);
  if (!values) return;
  const all = ['registration', 'placement', 'distribution'];
  const parts = values.parts ? values.parts.split(',').map((p) => p.trim()) : all;
  for (const p of parts) {
    if (!all.includes(p)) {
      console.error(`--parts: unknown part "${p}"; use ${all.join(', ')}\n${usage}`);
      process.exit(2);
    }
  }
  const whole = (name: string, raw: string | undefined, fallback: number): number => numberArg(name, raw, fallback, { min: 1, integer: true, usage });
  exposeGc();
  const machine = machineInfo();
  const results: BenchResult[] = [];
  const notes: string[] = [];
  const config: Record<string, unknown> = { parts };
  const log = (part: string) => (line: string) => console.error(`[bench fleet ${part}] ${line}`);
  const add = (part: string, report: { results: BenchResult[]; notes: string[]; config: object }) => {
    results.push(...report.results.map((r) => ({ ...r, name: `${part}: ${r.name}` })));
    notes.push(...report.notes.map((n) => `${part}: ${n}`));
    config[part] = report.config;
  };
  if (parts.includes('registration')) {
    const memberControllers = values['member-controllers'];
    add('registration', await runRegistrationBench({ clusters: whole('clusters', values.clusters, 1000), nodes: whole('nodes', values.nodes, 100), memberControllers, concurrency: 1 }, log('registration')));
    if (!memberControllers) notes.push('registration: simulated members ran without their own controllers (API, nodes and status only); pass --member-controllers for full members');
  }
  if (parts.includes('placement')) add('placement', runPlacementBench({}));
  if (parts.includes('distribution')) add('distribution', await runDistributionBench({ deployments: whole('deployments', values.deployments, 1000) }, log('distribution')));
  notes.push('anchors: Karmada\'s published 100-cluster test (registration p99 6.9 s, scheduling p99 32 ms, distribution p99 1.3 s) and the paper in seed 004 (joining under 1 s, scheduling under 200 ms): different machines and setups, read them as orders of magnitude');
  const report: BenchReport = { bench: 'fleet', date: new Date().toISOString(), machine, config, results, notes };
  await emitReport(report, { json: values.json, record: values.record });
}

if (import.meta.main) await main(process.argv.slice(2));
