import { join } from 'node:path';
import type { EngineDriver, NodeSettings } from '../../engine-driver';
import { NodeProcess, type NodeLaunch } from '../../node-process';
import {
  encodeNodeConfig,
  NODE_CONFIG_ENV,
  PORT_IN_USE_EXIT_CODE,
  READY_MARKER,
  type NodeConfig,
} from './node/node-config';

const NODE_ENTRY = join(__dirname, 'node', 'media-node.main.js');
const READY_TIMEOUT_MS = 15_000;

/** One werift media node: this engine's node program (./node), run by the current Node.js. */
class DevNodeProcess extends NodeProcess {
  constructor(
    private readonly config: NodeConfig,
    onLog: (line: string) => void,
  ) {
    super(config.name, config.port, onLog);
  }

  protected launch(): NodeLaunch {
    return {
      command: process.execPath,
      args: [NODE_ENTRY],
      // The config goes in the environment rather than argv, so the API secret never shows up in `ps`.
      env: { ...process.env, [NODE_CONFIG_ENV]: encodeNodeConfig(this.config) },
      // A node exits when its stdin closes, i.e. when the supervisor dies.
      stdin: 'pipe',
      ready: { line: READY_MARKER },
      readyTimeoutMs: READY_TIMEOUT_MS,
      portInUseExitCode: PORT_IN_USE_EXIT_CODE,
    };
  }
}

export const DEV_ENGINE: EngineDriver = {
  assertRunnable() {
    // werift is a devDependency: an install with --omit=dev (as the Docker image's) has none.
    try {
      require.resolve('werift');
    } catch {
      throw new Error(
        'the dev engine needs werift, a devDependency: run `npm install` (without --omit=dev), or give your media nodes with --url',
      );
    }
  },
  async nodeProcesses(count: number, basePort: number, settings: NodeSettings, onLog: (line: string) => void) {
    const processes = Array.from(
      { length: count },
      (_, index) => new DevNodeProcess({ name: `node-${index + 1}`, port: basePort + index, ...settings }, onLog),
    );
    return { processes };
  },
};
