/**
 * Runs the real kubectl against a simulated cluster, for the admission plugins' tests: resolves
 * with its output and exit code instead of throwing, so a refusal can be asserted on.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';

export interface KubectlResult {
  stdout: string;
  stderr: string;
  code: number;
}

export function kubectl(kubeconfig: string, args: string[], input?: string): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const env = { ...process.env, KUBECACHEDIR: join(kubeconfig, '..', 'kube-cache') };
    const child = execFile('kubectl', ['--kubeconfig', kubeconfig, ...args], { timeout: 60_000, env }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? Number((err as { code?: unknown }).code) : 1) : 0;
      resolve({ stdout, stderr, code });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}
