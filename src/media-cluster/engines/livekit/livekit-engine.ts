import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EngineDriver, NodeSettings } from '../../engine-driver';
import { freeUdpPort } from '../../../shared/ports';
import { requireLivekitBinary } from './livekit-binary';
import { LiveKitNodeProcess } from './livekit-node-process';

/**
 * N independent real livekit-server processes on loopback, one config file each in a directory of
 * their own (removed once they stopped). Needs `npm run livekit:install`.
 */
export const LIVEKIT_ENGINE: EngineDriver = {
  assertRunnable() {
    requireLivekitBinary();
  },
  async nodeProcesses(count: number, basePort: number, settings: NodeSettings, onLog: (line: string) => void) {
    const binary = requireLivekitBinary();
    const dir = mkdtempSync(join(tmpdir(), 'livekit-nodes-'));
    const processes: LiveKitNodeProcess[] = [];
    for (let i = 0; i < count; i++) {
      const config = { name: `node-${i + 1}`, port: basePort + i, udpPort: await freeUdpPort(), ...settings };
      processes.push(new LiveKitNodeProcess(binary, config, dir, onLog));
    }
    return { processes, dispose: () => rmSync(dir, { recursive: true, force: true }) };
  },
};
