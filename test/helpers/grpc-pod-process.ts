/**
 * A gRPC test pod (grpc-pods.ts) in a process of its own, for tests that need a pod to die as a
 * process dies (SIGKILL: its connections reset, no GOAWAY, no RST_STREAM), which a server shut
 * down in the test's own process cannot show. Run as a script, it starts the pod named by its
 * argument and sends its port over IPC.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { startGrpcPod } from './grpc-pods.js';

export interface GrpcPodProcess {
  readonly name: string;
  readonly port: number;
  /** SIGKILL; resolves once the process has ended. */
  kill(): Promise<void>;
}

export async function startGrpcPodProcess(name: string): Promise<GrpcPodProcess> {
  const child = fork(fileURLToPath(import.meta.url), [name], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = once(child, 'exit');
  const [port] = (await Promise.race([once(child, 'message'), exited.then(() => Promise.reject(new Error(`pod ${name} exited before listening`)))])) as [number];
  return {
    name,
    port,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const pod = await startGrpcPod(process.argv[2] ?? 'pod');
  process.send?.(pod.port);
  // Ends with the test process, whatever happens to it.
  process.on('disconnect', () => process.exit(0));
}
