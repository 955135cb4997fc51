// Several server processes on one port. A Node.js process answers on one core; `workers` (config, GATEHOUSE_WORKERS,
// --workers) runs that many, each the whole server with its own database connection, as node:cluster workers that
// share the listening socket. They share everything else through the database and the data directory, as separate
// Gatehouse processes on one database do (docs/deployment.md), so any of them can answer any request.
//
// This process, the primary, only supervises: it starts the workers, reports once that the server listens, replaces
// a worker that dies, and passes SIGTERM and SIGINT on.
import cluster, { type Worker } from 'node:cluster';
import type { Config } from './config.js';
import type { Logger } from './log.js';

/** What a worker tells the primary once it listens. */
export interface ListeningReport {
  gatehouse: 'listening';
  url: string;
  /** The admin key the first worker generated, if it did: the primary shows it once. */
  generatedKey?: { accessKeyId: string; secretAccessKey: string };
}

/** Whether an IPC message is the named one of the primary and its workers ('waiting', 'go', 'listening'). */
const isMessage = (message: unknown, name: string) => typeof message === 'object' && message !== null && (message as { gatehouse?: unknown }).gatehouse === name;

/**
 * In a worker, once its code is loaded: waits until the primary lets it open the database. The first worker opens it
 * at once; the others once the first listens, so that one process alone creates the schema and the generated admin key.
 */
export function waitForTurn(): Promise<void> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      if (!isMessage(message, 'go')) return;
      process.off('message', onMessage);
      resolve();
    };
    process.on('message', onMessage);
    process.send!({ gatehouse: 'waiting' });
  });
}

/** More replacements than this within a minute stop the server: whatever kills the workers would go on doing it. */
const REPLACEMENTS_PER_MINUTE = 10;

export interface Supervised {
  url: string;
  generatedKey?: ListeningReport['generatedKey'];
}

/**
 * Starts `config.workers` workers running this same command, all at once; each loads its code, and the first opens
 * the database while the others wait for it to listen (waitForTurn). Resolves when all listen. When one exits before
 * it listens, stops the others and exits 1.
 */
export async function superviseWorkers(config: Config, log: Logger): Promise<Supervised> {
  const workers = new Set<Worker>();
  let stopping = false;
  let started = false;
  const replacedAt: number[] = [];
  /** Workers waiting for their turn to open the database, until the first listens (then: none ever waits). */
  let waiting: Worker[] | undefined = [];
  let first: Worker | undefined;

  const fork = () =>
    new Promise<ListeningReport>((resolve, reject) => {
      const worker = cluster.fork();
      first ??= worker;
      workers.add(worker);
      let listening = false;
      worker.on('message', (message: unknown) => {
        if (isMessage(message, 'waiting')) {
          if (worker === first || !waiting) worker.send({ gatehouse: 'go' });
          else waiting.push(worker);
        }
        if (!isMessage(message, 'listening')) return;
        listening = true;
        if (worker === first && waiting) {
          for (const w of waiting) w.send({ gatehouse: 'go' });
          waiting = undefined;
        }
        resolve(message as ListeningReport);
      });
      worker.once('exit', (code, signal) => {
        workers.delete(worker);
        // A worker that fails to start says why on the shared standard error and exits 1; one killed says nothing.
        if (!listening) return reject(signal || code === 0 ? new Error(`a worker process stopped before it listened (${signal ?? 'exit code 0'})`) : undefined);
        if (stopping) return;
        if (!started) {
          log.error({ pid: worker.process.pid, code, signal }, 'a worker process stopped while the others started; stopping the server');
          void stop(1);
          return;
        }
        log.error({ pid: worker.process.pid, code, signal }, 'a worker process stopped; starting another');
        const now = Date.now();
        replacedAt.push(now);
        while (replacedAt[0] < now - 60_000) replacedAt.shift();
        if (replacedAt.length > REPLACEMENTS_PER_MINUTE) {
          log.error(`${replacedAt.length} worker processes stopped within a minute; stopping the server`);
          void stop(1);
          return;
        }
        fork().then(
          () => log.info('the replacement worker process is listening'),
          (err: unknown) => {
            log.error({ err }, 'the replacement worker did not start; stopping the server');
            void stop(1);
          },
        );
      });
    });

  /** Passes SIGTERM to every worker, waits for them all to exit, then exits. */
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    const exits = [...workers].map((w) => new Promise<void>((r) => (w.isDead() ? r() : w.once('exit', () => r()))));
    for (const w of workers) if (!w.isDead()) w.process.kill('SIGTERM');
    await Promise.all(exits);
    process.exit(code);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      log.info({ signal }, 'shutting down');
      void stop(0);
    });
  }

  try {
    const reports = await Promise.all(Array.from({ length: config.workers }, fork));
    started = true;
    return { url: reports[0].url, generatedKey: reports.find((r) => r.generatedKey)?.generatedKey };
  } catch (err) {
    // Unless a signal is already stopping the server, a worker failed to start.
    if (err && !stopping) process.stderr.write(`gatehouse: ${(err as Error).message}\n`);
    await stop(1);
    // stop() ends the process, here or where the signal started it.
    return new Promise<never>(() => {});
  }
}
