/**
 * SIGTERM (Kubernetes stopping a pod) and SIGINT (Ctrl-C) start a graceful stop: the
 * process stops taking work and finishes what it holds. A second signal exits at once
 * with status 130: someone wants it gone now, and BullMQ's stalled-job check hands any
 * job in hand to another worker, so nothing is lost.
 */
export function onShutdown(stop: (signal: NodeJS.Signals) => Promise<void>, options: { hardDeadlineMs?: number } = {}): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let stopping = false;
    const handler = (signal: NodeJS.Signals) => {
      if (stopping) process.exit(130);
      stopping = true;
      if (options.hardDeadlineMs !== undefined) {
        // The graceful stop (and the cleanup after it) must not outlive the pod's grace period:
        // a client stuck closing a connection (seen with BullMQ after Redis restarted) would
        // otherwise hold the process until SIGKILL. Jobs in hand go back via the stalled check.
        setTimeout(() => {
          process.stderr.write(`${JSON.stringify({ level: 50, time: new Date().toISOString(), msg: `shutdown did not finish within ${options.hardDeadlineMs} ms; exiting`, stage: "shutdown" })}\n`);
          process.exit(1);
        }, options.hardDeadlineMs).unref();
      }
      void stop(signal).finally(() => resolve(signal));
    };
    process.on("SIGTERM", handler);
    process.on("SIGINT", handler);
  });
}
