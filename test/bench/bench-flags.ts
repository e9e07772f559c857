// A benchmark's command-line flags, through the project's one parser (node:util parseArgs, see
// src/shared/cli-flags.ts). Bad flags end the run before anything starts, each one named, exit code 2.
import { parseFlags, type FlagSpec } from '../../src/shared/cli-flags';

export class BenchFlags {
  private readonly values: ReturnType<typeof parseFlags>['values'];
  private readonly problems: string[];

  constructor(
    private readonly bench: string,
    spec: FlagSpec,
    argv: readonly string[] = process.argv.slice(2),
  ) {
    ({ values: this.values, problems: this.problems } = parseFlags(argv, spec));
  }

  string<T extends string>(name: string, fallback: T, allowed?: readonly T[]): T {
    const value = (this.values[name] as T | undefined) ?? fallback;
    if (allowed && !allowed.includes(value))
      this.problems.push(`--${name} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`);
    return value;
  }

  int(name: string, fallback: number, min = 1): number {
    const raw = this.values[name];
    if (typeof raw !== 'string') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min)
      this.problems.push(`--${name} must be an integer >= ${min} (got ${JSON.stringify(raw)})`);
    return value;
  }

  /** A comma-separated list of integers, each at least `min`. */
  ints(name: string, fallback: number[], min = 1): number[] {
    const raw = this.values[name];
    if (typeof raw !== 'string') return fallback;
    const list = raw.split(',').map((part) => Number(part.trim()));
    if (list.length === 0 || !list.every((n) => Number.isInteger(n) && n >= min))
      this.problems.push(`--${name} must be integers >= ${min}, comma-separated (got ${JSON.stringify(raw)})`);
    return list;
  }

  /** Comma-separated words, each one of `allowed`. */
  words<T extends string>(name: string, fallback: readonly T[], allowed: readonly T[]): T[] {
    const raw = this.values[name];
    if (typeof raw !== 'string') return [...fallback];
    const list = raw.split(',').map((part) => part.trim()) as T[];
    if (!list.every((word) => allowed.includes(word)))
      this.problems.push(`--${name} takes ${allowed.join(', ')} (got ${JSON.stringify(raw)})`);
    return list;
  }

  flag(name: string): boolean {
    return this.values[name] === true;
  }

  /** Call once every flag was read: exits with the problems, if any. */
  done(): void {
    if (this.problems.length === 0) return;
    console.error(`${this.bench}: ${this.problems.join('; ')}`);
    process.exit(2);
  }
}
