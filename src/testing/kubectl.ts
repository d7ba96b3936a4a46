/**
 * Runs the real kubectl against a kubeconfig, asynchronously (a synchronous child would block the
 * in-process server it talks to), with a discovery cache of its own beside the kubeconfig.
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';

export interface KubectlResult {
  stdout: string;
  stderr: string;
  code: number;
}

export function runKubectl(kubeconfig: string, args: string[], input?: string, timeoutMs = 60_000): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = execFile('kubectl', ['--kubeconfig', kubeconfig, ...args], { timeout: timeoutMs, env: { ...process.env, KUBECACHEDIR: join(dirname(kubeconfig), 'kube-cache') } }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? Number((err as { code?: unknown }).code) : 1) : 0;
      resolve({ stdout, stderr, code });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** A kubectl bound to one kubeconfig whose calls must succeed: resolves with stdout, rejects with stderr. */
export function kubectlFor(kubeconfig: string): (args: string[], input?: string) => Promise<string> {
  return async (args, input) => {
    const r = await runKubectl(kubeconfig, args, input);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  };
}
