import { parseArgs } from 'node:util';

export type FlagSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;

export interface ParsedFlags {
  /** Flag name (without --) -> its value(s); booleans are true when given. */
  values: Record<string, string | string[] | boolean | undefined>;
  /** Every problem at once: unknown flags, stray arguments, flags missing their value. */
  problems: string[];
}

/**
 * node:util parseArgs, made to report every problem instead of throwing at the first. A value flag
 * followed by another flag (or nothing) is missing its value, as a person reading the line would say;
 * parseArgs alone would take the next flag as the value.
 */
export function parseFlags(argv: readonly string[], spec: FlagSpec): ParsedFlags {
  const takesValue = (arg: string) =>
    arg.startsWith('--') && !arg.includes('=') && spec[arg.slice(2)]?.type === 'string';
  const args = argv.map((arg, i) =>
    takesValue(arg) && (i + 1 >= argv.length || argv[i + 1]!.startsWith('--')) ? `${arg}=` : arg,
  );
  const { values, tokens } = parseArgs({ args, options: spec, strict: false, allowPositionals: true, tokens: true });
  const problems: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') problems.push(`unexpected argument ${JSON.stringify(token.value)}`);
    else if (token.kind === 'option' && !Object.hasOwn(spec, token.name))
      problems.push(`unknown option ${JSON.stringify(token.rawName)}`);
    else if (token.kind === 'option' && spec[token.name]!.type === 'string' && !token.value)
      problems.push(`${token.rawName} needs a value`);
    else if (token.kind === 'option' && spec[token.name]!.type === 'boolean' && token.inlineValue)
      problems.push(`${token.rawName} takes no value`);
  }
  return { values: values, problems };
}
