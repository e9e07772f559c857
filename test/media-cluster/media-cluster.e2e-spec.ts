import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { built } from '../support/built';
import { ENGINE_NAMES, ENGINES, startMediaCluster, type MediaCluster, type MediaEngine } from '../support/engines';
import { must } from '../support/must';

const API_KEY = 'test-key';
const API_SECRET = 'test-secret-that-is-long-enough';
const CLI = built('src/media-cluster/main.js');

function httpUrl(wsUrl: string): string {
  return wsUrl.replace(/^ws/, 'http');
}

/** `GET /` as the backend's probe does: 'ok', 'refused' (dead) or 'timeout' (hung). */
async function probe(wsUrl: string, timeoutMs = 500): Promise<string> {
  try {
    const response = await fetch(`${httpUrl(wsUrl)}/`, { signal: AbortSignal.timeout(timeoutMs) });
    return response.status === 200 && (await response.text()) === 'OK' ? 'ok' : `HTTP ${response.status}`;
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    if (cause?.code === 'ECONNREFUSED') return 'refused';
    return (error as Error).name === 'TimeoutError' ? 'timeout' : String(error);
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// One process pool serves both engines: the same process control, whichever program a node runs.
describe.each(ENGINES.map((engine) => [ENGINE_NAMES[engine], engine] as [string, MediaEngine]))(
  'media cluster processes (%s)',
  (_name, engine) => {
    let cluster: MediaCluster;
    /** The cluster's `index`th node as it reports it now (node-1 first). */
    const nodeAt = (index: number) => must(cluster.nodes()[index], `node-${index + 1} in cluster.nodes()`);

    beforeAll(async () => {
      cluster = await startMediaCluster(engine, { nodes: 3, apiKey: API_KEY, apiSecret: API_SECRET });
    });

    afterAll(async () => {
      await cluster?.stop();
    });

    it('starts one process per node on consecutive loopback ports, each healthy', async () => {
      const nodes = cluster.nodes();
      expect(nodes.map((node) => node.name)).toEqual(['node-1', 'node-2', 'node-3']);
      const firstPort = nodeAt(0).port;
      expect(nodes.map((node) => node.port - firstPort)).toEqual([0, 1, 2]);
      for (const node of nodes) {
        assert.equal(node.url, `ws://127.0.0.1:${node.port}`);
        assert.equal(node.state, 'running');
        assert.ok(node.pid && pidAlive(node.pid), `${node.name} has a live pid`);
        assert.equal(await probe(node.url), 'ok');
      }
      assert.equal(new Set(nodes.map((node) => node.pid)).size, 3, 'separate processes');
    });

    it('kill: the process is gone, its port refuses, the other nodes go on', async () => {
      const [first, second, third] = [nodeAt(0), nodeAt(1), nodeAt(2)];
      const firstPid = must(first.pid, 'the pid of the running node-1');
      await cluster.kill('node-1');
      assert.equal(pidAlive(firstPid), false);
      assert.equal(nodeAt(0).state, 'dead');
      assert.equal(nodeAt(0).pid, undefined);
      assert.equal(await probe(first.url), 'refused');
      assert.equal(await probe(second.url), 'ok');
      assert.equal(await probe(third.url), 'ok');
      await assert.rejects(cluster.hang('node-1'), /dead/);
    });

    it('restart: a dead node comes back on the same url with a new process', async () => {
      const before = nodeAt(0);
      await cluster.restart(before.url);
      const after = nodeAt(0);
      assert.equal(after.url, before.url);
      assert.equal(after.state, 'running');
      assert.ok(after.pid && pidAlive(after.pid));
      assert.equal(await probe(after.url), 'ok');
    });

    it('hang: the socket stays open but nothing answers; resume brings it back', async () => {
      const node = nodeAt(1);
      const pid = must(node.pid, 'the pid of the running node-2');
      await cluster.hang('node-2');
      assert.equal(nodeAt(1).state, 'hung');
      assert.equal(pidAlive(pid), true, 'a hung node is still a process');
      assert.equal(await probe(node.url, 300), 'timeout');
      await cluster.resume('node-2');
      assert.equal(nodeAt(1).state, 'running');
      assert.equal(await probe(node.url, 2_000), 'ok');
    });

    it('names an unknown node in the error', async () => {
      await assert.rejects(cluster.kill('node-9'), /Unknown media node "node-9"; known: node-1/);
    });

    it('stop ends every process and can be called twice', async () => {
      const pids = cluster.nodes().map((node) => must(node.pid, `the pid of ${node.name}`));
      await cluster.stop();
      await cluster.stop();
      expect(pids.map((pid) => pidAlive(pid))).toEqual([false, false, false]);
      assert.ok(cluster.nodes().every((node) => node.state === 'dead'));
    });
  },
);

describe('startMediaCluster options', () => {
  it.each(ENGINES)('refuses bad options with every problem named (%s)', async (engine) => {
    await assert.rejects(
      startMediaCluster(engine, { nodes: 0, apiKey: '', apiSecret: API_SECRET, basePort: -1, webhookUrl: 'nope' }),
      (error: Error) =>
        /nodes must be/.test(error.message) &&
        /apiKey must not be empty/.test(error.message) &&
        /basePort/.test(error.message) &&
        /webhookUrl/.test(error.message),
    );
  });
});

describe('npm run dev-cluster (CLI)', () => {
  it.each(ENGINES)(
    '--engine %s prints "node-N ws://127.0.0.1:PORT pid PID" per node and stops them all on SIGINT',
    async (engine) => {
      const child = spawn(process.execPath, [CLI, '--engine', engine, '--nodes', '2', '--port', '0', '--quiet'], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      try {
        const lines = createInterface({ input: child.stdout });
        const nodes: Array<{ name: string; url: string; pid: number }> = [];
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('CLI printed no node lines in 15 s')), 15_000);
          lines.on('line', (line) => {
            const [, name, url, pid] = /^(node-\d+) (ws:\/\/127\.0\.0\.1:\d+) pid (\d+)$/.exec(line) ?? [];
            if (name && url && pid) nodes.push({ name, url, pid: Number(pid) });
            if (nodes.length === 2) {
              clearTimeout(timer);
              resolve();
            }
          });
          child.once('exit', (code) => reject(new Error(`CLI exited early with ${code}`)));
        });
        expect(nodes.map((node) => node.name)).toEqual(['node-1', 'node-2']);
        for (const node of nodes) assert.equal(await probe(node.url), 'ok');

        const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
        child.kill('SIGINT');
        assert.equal(await exited, 0);
        for (const node of nodes) assert.equal(pidAlive(node.pid), false, `${node.name} stopped with the CLI`);
      } finally {
        child.kill('SIGKILL');
      }
    },
  );

  it('exits 2 naming every bad value', async () => {
    const child = spawn(process.execPath, [CLI, '--nodes', 'x', '--webhook', 'ftp://y'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 2);
    assert.match(stderr, /--nodes must be a number/);
    assert.match(stderr, /--webhook must be an http\(s\) URL/);
  });
});
