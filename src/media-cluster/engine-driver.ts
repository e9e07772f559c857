import type { NodeProcess } from './node-process';

/** What every node of one cluster is configured with, whichever engine runs it. */
export interface NodeSettings {
  apiKey: string;
  apiSecret: string;
  webhookUrl?: string;
  emptyTimeoutSec: number;
}

/** The per-engine part of a media cluster: how its node processes are configured and started. */
export interface EngineDriver {
  /** Throws, saying what to install, when this machine cannot run the engine's nodes. */
  assertRunnable(): void;
  /** `node-1` ... `node-N` on basePort, basePort + 1, ...; `dispose` runs once every node has stopped. */
  nodeProcesses(
    count: number,
    basePort: number,
    settings: NodeSettings,
    onLog: (line: string) => void,
  ): Promise<{ processes: NodeProcess[]; dispose?: () => void }>;
}
