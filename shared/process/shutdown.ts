/**
 * SIGTERM (Kubernetes stopping a pod) and SIGINT (Ctrl-C) start a graceful stop: the
 * process stops taking work and finishes what it holds. A second signal exits at once
 * with status 130: someone wants it gone now, and BullMQ's stalled-job check hands any
 * job in hand to another worker, so nothing is lost.
 */
export function onShutdown(stop: (signal: NodeJS.Signals) => Promise<void>): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let stopping = false;
    const handler = (signal: NodeJS.Signals) => {
      if (stopping) process.exit(130);
      stopping = true;
      void stop(signal).finally(() => resolve(signal));
    };
    process.on("SIGTERM", handler);
    process.on("SIGINT", handler);
  });
}
