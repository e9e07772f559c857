import type { IndependentMediaCluster, MediaNodeInfo } from './api';
import type { NodeProcess } from './node-process';

/**
 * N node processes of one engine behind the MediaCluster interface: starting, killing, hanging,
 * resuming and restarting them, for both engines alike.
 */
export class ProcessPool implements IndependentMediaCluster {
  readonly topology = 'independent';
  private readonly killOnExit = () => this.processes.forEach((node) => node.killNow());

  constructor(
    readonly apiKey: string,
    readonly apiSecret: string,
    private readonly processes: NodeProcess[],
    private readonly dispose: () => void = () => undefined,
  ) {
    // A test that crashes must not leave node processes behind (a stopped one would never exit).
    process.once('exit', this.killOnExit);
  }

  /** Resolves once every node listens; the first failure otherwise (the others may still run: stop()). */
  async startAll(): Promise<void> {
    const results = await Promise.allSettled(this.processes.map((node) => node.start()));
    const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure) throw failure.reason;
  }

  nodes(): MediaNodeInfo[] {
    return this.processes.map((node) => node.info());
  }

  async kill(node: string): Promise<void> {
    await this.find(node).kill();
  }

  async hang(node: string): Promise<void> {
    await this.find(node).hang();
  }

  async resume(node: string): Promise<void> {
    this.find(node).resume();
  }

  async restart(node: string): Promise<void> {
    const target = this.find(node);
    await target.kill();
    await target.start();
  }

  async stop(): Promise<void> {
    process.removeListener('exit', this.killOnExit);
    await Promise.all(this.processes.map((node) => node.kill()));
    this.dispose();
  }

  private find(node: string): NodeProcess {
    const wanted = normalizeNodeRef(node);
    const found = this.processes.find(
      (candidate) => candidate.name === wanted || normalizeNodeRef(candidate.url) === wanted,
    );
    if (!found) {
      const known = this.processes.map((candidate) => `${candidate.name} (${candidate.url})`).join(', ');
      throw new Error(`Unknown media node "${node}"; known: ${known}`);
    }
    return found;
  }
}

/** `node-2`, `ws://127.0.0.1:7881`, `http://127.0.0.1:7881/` all name the same node. */
function normalizeNodeRef(ref: string): string {
  const trimmed = ref.trim();
  if (!/^(ws|http)s?:\/\//.test(trimmed)) return trimmed;
  const url = new URL(trimmed);
  return `${url.hostname}:${url.port}`;
}
