// The Dockerfile, with no Docker engine on this machine: hadolint lints it, then its steps run the same
// way in scratch directories, one per stage (WORKDIR /app is the stage's directory; COPY, ENV and RUN
// as written; COPY --from takes from the earlier stage's directory). The final stage's ENTRYPOINT then
// starts with flags passed through, and its HEALTHCHECK command must pass. USER is not emulated (the
// tests run as one user); it is linted.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { freePort } from '../../src/shared/ports';
import { fromRoot } from '../support/built';
import { spawnNode } from '../support/child-process';

interface Stage {
  name?: string;
  dir: string;
  env: Record<string, string>;
  healthcheck?: string[];
  entrypoint?: string[];
}

/** Instructions, with `\` continuations joined and comments dropped. */
function instructions(dockerfile: string): Array<{ op: string; args: string }> {
  return dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [op] = line.split(/\s+/);
      return { op: op!.toUpperCase(), args: line.slice(op!.length).trim() };
    });
}

/** Every file below `dir`, as paths relative to it. */
function filesBelow(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)));
}

/** Runs every stage; answers them in order. */
function runDockerfile(root: string, scratch: string): Stage[] {
  const stages: Stage[] = [];
  const inStage = (stage: Stage, path: string) =>
    join(stage.dir, path.startsWith('/app') ? relative('/app', path) : path);
  for (const { op, args } of instructions(readFileSync(join(root, 'Dockerfile'), 'utf8'))) {
    const stage = stages[stages.length - 1]!;
    switch (op) {
      case 'FROM': {
        const name = /\bAS\s+(\S+)/i.exec(args)?.[1];
        const dir = join(scratch, `stage-${stages.length}`);
        mkdirSync(dir, { recursive: true });
        stages.push({ name, dir, env: {} });
        break;
      }
      case 'WORKDIR':
        expect(args).toBe('/app'); // every path below is relative to it
        break;
      case 'ENV':
        for (const [, key, value] of args.matchAll(/(\w+)=(\S+)/g)) stage.env[key!] = value!;
        break;
      case 'COPY': {
        const parts = args.split(/\s+/);
        const from = parts[0]!.startsWith('--from=')
          ? stages.find((s) => s.name === parts.shift()!.slice('--from='.length))
          : undefined;
        const dest = parts.pop()!;
        for (const source of parts) {
          const src = from ? inStage(from, source) : join(root, source);
          const target = dest.endsWith('/')
            ? join(inStage(stage, dest), source.split('/').pop()!)
            : inStage(stage, dest);
          mkdirSync(dirname(target), { recursive: true });
          cpSync(src, target, { recursive: true });
        }
        break;
      }
      case 'RUN':
        execFileSync('sh', ['-c', args], {
          cwd: stage.dir,
          env: { ...process.env, ...stage.env },
          stdio: 'pipe',
          timeout: 300_000,
        });
        break;
      case 'HEALTHCHECK':
        stage.healthcheck = JSON.parse(args.slice(args.indexOf('CMD') + 3).trim()) as string[];
        break;
      case 'ENTRYPOINT':
        stage.entrypoint = JSON.parse(args) as string[];
        break;
      case 'EXPOSE':
      case 'USER':
      case 'CMD':
        break;
      default:
        throw new Error(`the emulation does not know ${op}: teach it, or keep the Dockerfile to these instructions`);
    }
  }
  return stages;
}

describe('Dockerfile: linted, built and started the way an engine would', () => {
  const root = fromRoot('.');
  let scratch: string;
  let image: Stage;

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'session-rebuilder-image-'));
  });
  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  it('hadolint finds nothing', () => {
    const hadolint = fromRoot('.tools/venv/bin/hadolint');
    expect(existsSync(hadolint) ? hadolint : 'hadolint is missing: run `npm run tools:install` (npm test does)').toBe(
      hadolint,
    );
    const lint = spawnSync(hadolint, ['--no-color', join(root, 'Dockerfile')], { encoding: 'utf8' });
    expect(`${lint.stdout}${lint.stderr}`).toBe('');
    expect(lint.status).toBe(0);
  });

  it('builds in two stages; the final one has the built backend and client and production dependencies only', () => {
    const stages = runDockerfile(root, scratch);
    expect(stages).toHaveLength(2);
    image = stages[1]!;
    for (const file of ['dist/src/main.js', 'client/dist/index.html', 'node_modules/@nestjs/core/package.json'])
      expect(existsSync(join(image.dir, file))).toBe(true);
    // Type packages aside: production packages depend on some (engine.io on @types/node, @types/ws).
    const devOnly = Object.keys(
      (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> })
        .devDependencies,
    ).filter((name) => !name.startsWith('@types/'));
    expect(devOnly).toEqual(expect.arrayContaining(['jest', 'typescript', 'vite', 'playwright-core', 'werift']));
    expect(devOnly.filter((name) => existsSync(join(image.dir, 'node_modules', name)))).toEqual([]);
    expect(existsSync(join(image.dir, 'test'))).toBe(false);
  }, 600_000);

  it('holds nothing of the media cluster: no dev engine, no local launchers, no werift', () => {
    const built = filesBelow(join(image.dir, 'dist'));
    expect(built).toContain('src/main.js');
    expect(
      built.filter((file) =>
        /^src\/(media-cluster|local-stack|dev-cluster|livekit-cluster|local-cluster)\/|media-node/.test(file),
      ),
    ).toEqual([]);
    expect(
      built.filter(
        (file) => file.endsWith('.js') && /\bwerift\b/.test(readFileSync(join(image.dir, 'dist', file), 'utf8')),
      ),
    ).toEqual([]);
    expect(readdirSync(join(image.dir, 'node_modules')).filter((name) => name.includes('werift'))).toEqual([]);
  });

  it('with no --url it refuses to start, saying what to pass (the dev cluster is not for 0.0.0.0)', async () => {
    const [command, ...args] = image.entrypoint!;
    const proc = spawnNode(join(image.dir, args[0]!), args.slice(1), {
      ...image.env,
      LIVEKIT_URL: '',
      LIVEKIT_API_KEY: '',
      LIVEKIT_API_SECRET: '',
    });
    try {
      expect(command).toBe('node');
      const code = await new Promise<number | null>((resolve) => proc.child.once('exit', (c) => resolve(c)));
      expect(code).toBe(2);
      expect(proc.output()).toMatch(
        /the embedded dev cluster .* serves only on loopback, not on "0\.0\.0\.0"; give your media nodes with --url/,
      );
    } finally {
      await proc.stop(500);
    }
  });

  it('asked for the embedded cluster on loopback, it says this build has none and exits 2', async () => {
    const [, ...args] = image.entrypoint!;
    const proc = spawnNode(join(image.dir, args[0]!), [...args.slice(1), '--host', '127.0.0.1', '--port', '0'], {
      ...image.env,
      LIVEKIT_URL: '',
      LIVEKIT_API_KEY: '',
      LIVEKIT_API_SECRET: '',
    });
    try {
      const code = await new Promise<number | null>((resolve) => proc.child.once('exit', (c) => resolve(c)));
      expect(code).toBe(2);
      expect(proc.output()).toMatch(
        /this build has no embedded media cluster \(the production image leaves it out\); give your media nodes with --url/,
      );
    } finally {
      await proc.stop(500);
    }
  });

  it('flags pass through the ENTRYPOINT; the HEALTHCHECK passes; it serves the sample app and the API', async () => {
    const port = await freePort();
    const [, ...args] = image.entrypoint!;
    const flags = [
      '--url',
      'ws://127.0.0.1:9',
      '--api-key',
      'image-key',
      '--secret',
      'image-secret-image-secret-00000',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
    ];
    const proc = spawnNode(join(image.dir, args[0]!), [...args.slice(1), ...flags], {
      ...image.env,
      LIVEKIT_URL: '',
      LIVEKIT_API_KEY: '',
      LIVEKIT_API_SECRET: '',
    });
    try {
      await proc.waitFor(new RegExp(`session-rebuilder: app http://127\\.0\\.0\\.1:${port}`), 30_000);
      const [checkCommand, ...checkArgs] = image.healthcheck!;
      const health = await new Promise<number | null>((resolve) => {
        const check = spawn(checkCommand === 'node' ? process.execPath : checkCommand!, checkArgs, {
          env: { ...image.env, PORT: String(port) },
          stdio: 'ignore',
        });
        check.once('exit', resolve);
      });
      expect(health).toBe(0);
      const page = await fetch(`http://127.0.0.1:${port}/`);
      expect([page.status, (await page.text()).includes('<div')]).toEqual([200, true]);
      expect((await fetch(`http://127.0.0.1:${port}/api/docs-json`)).status).toBe(200);
    } finally {
      await proc.stop(2_000);
    }
  }, 60_000);
});
