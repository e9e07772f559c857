import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface NginxOptions {
  /** A directory of its own: config, pid file, temp paths and error log go there. */
  dir: string;
  /** Where nginx listens, on 127.0.0.1. */
  port: number;
  /** `host:port` of each upstream (HTTP and WebSocket). */
  upstreams: string[];
  /**
   * Pick an upstream by client address (sticky), as socket.io's long-polling fallback needs. On one
   * machine every client has the same address, so everything lands on one instance until it dies.
   */
  sticky?: boolean;
  /**
   * How long an upstream that failed is skipped before nginx tries it again (default 10, nginx's own).
   * 0: never skipped; a request that meets a refusing upstream passes to the next one.
   */
  failTimeoutSec?: number;
  /** Upstreams left out for now (marked `down`): a balancer's health check failed them. */
  down?: readonly string[];
  /**
   * A master and one worker, so that setDown() can reload the config: a reload in nginx's one-process
   * mode leaked its connections until nothing was accepted. Default: one process.
   */
  reloadable?: boolean;
}

/**
 * nginx in front of HTTP + WebSocket upstreams; a request whose upstream refuses (or does not accept
 * within a second) goes to the next one, and the refusing upstream is skipped for `failTimeoutSec`.
 */
export function nginxConfig(options: NginxOptions): string {
  const { dir, port, upstreams } = options;
  // One process (no master and workers): the pid we spawn is all of nginx, so stopping it by pid stops
  // it all. With a master (reloadable), a SIGKILL of the master alone left its worker running, orphaned,
  // holding the port: the master leads a process group of its own, and the group is killed.
  return `daemon off;
master_process ${options.reloadable ? 'on;\nworker_processes 1' : 'off'};
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
worker_rlimit_nofile 16384;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  upstream backend {
${options.sticky ? '    ip_hash;\n' : ''}${upstreams.map((upstream) => `    server ${upstream} ${failures(options.failTimeoutSec ?? 10)}${options.down?.includes(upstream) ? ' down' : ''};`).join('\n')}
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_connect_timeout 1s;
      proxy_read_timeout 3600s;
      proxy_next_upstream error timeout;
    }
  }
}
`;
}

function failures(failTimeoutSec: number): string {
  return failTimeoutSec === 0 ? 'max_fails=0' : `max_fails=1 fail_timeout=${failTimeoutSec}s`;
}

export interface NginxProcess {
  pid: number;
  /**
   * Leaves out exactly the upstreams in `down` from now on: the config is rewritten and nginx reloads it
   * (SIGHUP; one process, so the same one: connections already open, WebSockets included, stay).
   */
  setDown(down: readonly string[]): void;
  stop(): void;
}

/** Fails with what to install (never skips) when nginx is missing. */
export function requireNginx(): void {
  const probe = spawnSync('nginx', ['-v'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0)
    throw new Error(
      'nginx is not installed; the one URL in front of several nodes needs it (Debian: apt-get install nginx)',
    );
}

/** Starts Debian's nginx with a generated config; fails with what to install when it is missing. */
export async function startNginx(options: NginxOptions): Promise<NginxProcess> {
  for (const sub of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'])
    mkdirSync(join(options.dir, sub), { recursive: true });
  const conf = join(options.dir, 'nginx.conf');
  writeFileSync(conf, nginxConfig(options));
  const child: ChildProcess = spawn('nginx', ['-c', conf, '-p', options.dir], {
    stdio: 'ignore',
    detached: options.reloadable === true,
  });
  await new Promise<void>((resolve, reject) => {
    child.once('error', (error) =>
      reject(new Error(`nginx could not be started: ${error.message} (Debian: apt-get install nginx)`)),
    );
    child.once('spawn', () => resolve());
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`nginx exited with code ${child.exitCode}; see ${options.dir}/nginx-error.log`);
    try {
      await fetch(`http://127.0.0.1:${options.port}/`, { signal: AbortSignal.timeout(500) });
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`nginx did not answer on port ${options.port} within 10 s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  const pid = child.pid!;
  return {
    pid,
    setDown(down) {
      if (!options.reloadable) throw new Error('setDown() needs nginx started with reloadable: true');
      if (child.exitCode !== null) return;
      writeFileSync(conf, nginxConfig({ ...options, down }));
      // The master starts a new worker with it; the old one keeps its open connections until they close.
      child.kill('SIGHUP');
    },
    stop: () => {
      if (!options.reloadable) {
        child.kill('SIGKILL');
        return;
      }
      try {
        // The group our own child leads: its master and every worker, current and old.
        process.kill(-pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    },
  };
}
