// The peer our users would otherwise rely on: LiveKit's own recovery. Two livekit-server nodes sharing a
// real Redis (LiveKit's multi-node mode) behind one URL (nginx, WebSocket proxying), and livekit-client
// with its default reconnect policy. Debian's redis-server and nginx; every process on loopback.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireLivekitBinary } from '../../src/media-cluster/engines/livekit/livekit-binary';
import { LiveKitNodeProcess } from '../../src/media-cluster/engines/livekit/livekit-node-process';
import { startNginx } from '../../src/local-stack/nginx';
import { startRedisProcess } from '../../src/local-stack/redis-process';
import { findFreePortRange, freePort, freeUdpPort } from '../../src/shared/ports';

export interface LiveKitPeer {
  /** The one URL clients use (nginx in front of both nodes). */
  url: string;
  nodes: LiveKitNodeProcess[];
  stop(): Promise<void>;
}

export async function startLiveKitPeer(
  apiKey: string,
  apiSecret: string,
  onLog: (line: string) => void = () => undefined,
): Promise<LiveKitPeer> {
  const binary = requireLivekitBinary();
  const dir = mkdtempSync(join(tmpdir(), 'livekit-peer-'));
  const stops: Array<() => void> = [];
  const nodes: LiveKitNodeProcess[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    for (const stopOne of stops) stopOne();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const redis = await startRedisProcess(dir, await freePort());
    stops.push(() => void redis.stop());
    const base = await findFreePortRange(2);
    for (let i = 0; i < 2; i++) {
      const config = {
        name: `lk-${i + 1}`,
        port: base + i,
        udpPort: await freeUdpPort(),
        apiKey,
        apiSecret,
        emptyTimeoutSec: 300,
        redisAddress: `127.0.0.1:${redis.port}`,
      };
      nodes.push(new LiveKitNodeProcess(binary, config, dir, onLog));
    }
    await Promise.all(nodes.map((n) => n.start()));
    const port = await freePort();
    const nginx = await startNginx({ dir, port, upstreams: [base, base + 1] });
    stops.push(() => nginx.stop());
    return { url: `ws://127.0.0.1:${port}`, nodes, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
