// The peer our users would otherwise rely on: LiveKit's own recovery. Two livekit-server nodes sharing a
// real Redis (LiveKit's multi-node mode) behind one URL (nginx, WebSocket proxying), and livekit-client
// with its default reconnect policy. Debian's redis-server and nginx; every process on loopback.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireLivekitBinary } from '../../src/livekit-cluster';
import { LiveKitNodeProcess } from '../../src/livekit-cluster/livekit-node';
import { findFreePortRange, freePort, freeUdpPort } from '../../src/shared/ports';

export interface LiveKitPeer {
  /** The one URL clients use (nginx in front of both nodes). */
  url: string;
  nodes: LiveKitNodeProcess[];
  stop(): Promise<void>;
}

function startProcess(command: string, args: string[], ready: RegExp, what: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what} did not start within 10 s:\n${output}`));
    }, 10_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${what} could not be started (${command}): ${error.message}; Debian: apt-get install redis-server nginx`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (code ${code}) before it was ready:\n${output}`));
    });
  });
}

async function waitForHttp(url: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(500) })).ok) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function nginxConfig(dir: string, port: number, upstreams: number[]): string {
  return `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  upstream livekit {
${upstreams.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=10s;`).join('\n')}
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://livekit;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_connect_timeout 1s;
      proxy_read_timeout 3600s;
      proxy_next_upstream error timeout;
    }
  }
}
`;
}

export async function startLiveKitPeer(apiKey: string, apiSecret: string, onLog: (line: string) => void = () => undefined): Promise<LiveKitPeer> {
  const binary = requireLivekitBinary();
  const dir = mkdtempSync(join(tmpdir(), 'livekit-peer-'));
  const children: ChildProcess[] = [];
  const nodes: LiveKitNodeProcess[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    for (const child of children) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const redisPort = await freePort();
    children.push(
      await startProcess('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], /Ready to accept connections/, 'redis-server'),
    );
    const base = await findFreePortRange(2);
    for (let i = 0; i < 2; i++) {
      const config = {
        name: `lk-${i + 1}`,
        port: base + i,
          udpPort: await freeUdpPort(),
        apiKey,
        apiSecret,
        emptyTimeoutSec: 300,
        redisAddress: `127.0.0.1:${redisPort}`,
      };
      nodes.push(new LiveKitNodeProcess(binary, config, dir, onLog));
    }
    await Promise.all(nodes.map((n) => n.start()));
    const port = await freePort();
    for (const sub of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub));
    writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, port, [base, base + 1]));
    const nginx = spawn('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore', detached: true });
    children.push(nginx);
    await waitForHttp(`http://127.0.0.1:${port}/`);
    return { url: `ws://127.0.0.1:${port}`, nodes, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
