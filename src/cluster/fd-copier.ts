/**
 * A short-lived child process (shared-listener.ts forks it): receives a socket over its IPC
 * channel and sends it back `count` times. Each handle that crosses a channel arrives as a new
 * descriptor of the same socket (SCM_RIGHTS), which is the only way Node gives a process more
 * than one descriptor of a socket it has. Then it disconnects and ends.
 */
import type { SendHandle } from 'node:child_process';

interface CopyRequest {
  readonly count: number;
}

// `on`, not `once`: the channel keeps this process alive only while a listener is attached, and
// it must live until the parent has acknowledged every copy.
process.on('message', (message: CopyRequest, handle: SendHandle) => {
  const send = process.send!.bind(process);
  for (let i = 0; i < message.count; i++) send({ copy: i }, handle, { keepOpen: true });
  // Queued behind the copies, so it arrives last; Node holds the disconnect until the queue is sent.
  send({ done: true });
  process.disconnect();
});
