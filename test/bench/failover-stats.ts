// Pure helpers of the failover benchmark: percentiles and the SVG chart.

export const PHASES = ['detection', 'token', 'connect', 'publish', 'firstFrame'] as const;
export type Phase = (typeof PHASES)[number];

export interface Sample {
  /** The media engine: the embedded dev cluster or the real LiveKit server. */
  engine: string;
  scenario: string;
  participants: number;
  run: number;
  participant: string;
  /** kill -> first newly decoded remote frame (the headline figure). */
  totalMs: number;
  /** kill -> every remote decoded again. */
  allRemotesMs?: number;
  phases: Record<Phase, number>;
  trigger: string;
  moves: number;
  /** The move's diagnostic instants (signal, video, remoteVideo, ...), ms after the new token was in hand. */
  marks?: Record<string, number>;
}

export interface Summary {
  count: number;
  median: number;
  p95: number;
  max: number;
}

/** Nearest-rank percentile (no interpolation: every figure reported was really measured). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export function summarize(values: number[]): Summary {
  return {
    count: values.length,
    median: percentile(values, 50),
    p95: percentile(values, 95),
    max: values.length ? Math.max(...values) : NaN,
  };
}

const PHASE_COLORS: Record<Phase, string> = {
  detection: '#e5484d',
  token: '#f5a524',
  connect: '#4f8cff',
  publish: '#8e4ec6',
  firstFrame: '#30a46c',
};

export interface ChartGroup {
  label: string;
  samples: Sample[];
  targetMedianMs?: number;
  targetP95Ms?: number;
}

/**
 * One row per group: the stacked bar is the median of each phase, the dots are every sample's total,
 * the black tick is p95 and the dashed line the p95 target.
 */
export function renderSvg(groups: ChartGroup[], title: string, footnote: string): string {
  const width = 900;
  const left = 190;
  const right = 30;
  const rowHeight = 64;
  const top = 70;
  const height = top + groups.length * rowHeight + 70;
  const maxMs = Math.max(3_000, ...groups.flatMap((g) => g.samples.map((s) => s.totalMs))) * 1.05;
  const x = (ms: number) => left + (ms / maxMs) * (width - left - right);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="system-ui, sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="100%" height="100%" fill="white"/>`);
  parts.push(`<text x="${left}" y="24" font-size="15" font-weight="600">${escape(title)}</text>`);
  PHASES.forEach((phase, i) => {
    const lx = left + i * 120;
    parts.push(`<rect x="${lx}" y="36" width="12" height="12" fill="${PHASE_COLORS[phase]}"/>`);
    parts.push(`<text x="${lx + 16}" y="46">${phase === 'firstFrame' ? 'first frame' : phase} (median)</text>`);
  });
  for (let ms = 0; ms <= maxMs; ms += 500) {
    parts.push(`<line x1="${x(ms)}" x2="${x(ms)}" y1="${top - 6}" y2="${height - 60}" stroke="#eee"/>`);
    parts.push(
      `<text x="${x(ms)}" y="${height - 44}" text-anchor="middle" fill="#666">${(ms / 1000).toFixed(1)} s</text>`,
    );
  }
  groups.forEach((group, row) => {
    const y = top + row * rowHeight;
    const totals = group.samples.map((s) => s.totalMs);
    const stats = summarize(totals);
    parts.push(
      `<text x="${left - 10}" y="${y + 18}" text-anchor="end" font-weight="600">${escape(group.label)}</text>`,
    );
    parts.push(
      `<text x="${left - 10}" y="${y + 34}" text-anchor="end" fill="#444">median ${fmt(stats.median)} · p95 ${fmt(stats.p95)} · n=${stats.count}</text>`,
    );
    let cursor = 0;
    for (const phase of PHASES) {
      const value = percentile(
        group.samples.map((s) => s.phases[phase]),
        50,
      );
      if (!Number.isFinite(value) || value <= 0) continue;
      parts.push(
        `<rect x="${x(cursor)}" y="${y + 6}" width="${x(cursor + value) - x(cursor)}" height="16" fill="${PHASE_COLORS[phase]}" opacity="0.85"><title>${phase}: ${Math.round(value)} ms</title></rect>`,
      );
      cursor += value;
    }
    group.samples.forEach((sample, i) => {
      const jitter = ((i * 7) % 13) - 6;
      parts.push(
        `<circle cx="${x(sample.totalMs)}" cy="${y + 36 + jitter / 2}" r="2.6" fill="#222" opacity="0.55"><title>run ${sample.run} ${escape(sample.participant)}: ${Math.round(sample.totalMs)} ms</title></circle>`,
      );
    });
    if (Number.isFinite(stats.p95))
      parts.push(
        `<line x1="${x(stats.p95)}" x2="${x(stats.p95)}" y1="${y + 26}" y2="${y + 46}" stroke="black" stroke-width="2"/>`,
      );
    if (group.targetP95Ms) {
      parts.push(
        `<line x1="${x(group.targetP95Ms)}" x2="${x(group.targetP95Ms)}" y1="${y + 2}" y2="${y + 50}" stroke="#e5484d" stroke-dasharray="4 3"/>`,
      );
    }
  });
  parts.push(`<text x="${left}" y="${height - 18}" fill="#444">${escape(footnote)}</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}

function fmt(ms: number): string {
  return Number.isFinite(ms) ? `${Math.round(ms)} ms` : 'n/a';
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** One remote video receiver of a page: `key` is new when a new connection brings a new receiver. */
export interface ReceiverCount {
  key: string;
  framesDecoded: number;
}

export interface Recovery {
  /** When the video was back, ms on the caller's clock. */
  at: number;
  evidence: string;
}

/**
 * Tells when a page's remote video is back after a kill, from counts sampled before the kill and then
 * every poll. A frozen picture cannot fake it: frames sent before the kill drain from the jitter buffer
 * for a few hundred ms, so rising counts alone prove nothing until they have risen without a pause for
 * `steadyMs`; a receiver that did not exist before the kill (a new connection) decoding is proof at once.
 */
export class RecoveryDetector {
  private previous: ReceiverCount[];
  private steadySince?: number;

  constructor(
    private readonly beforeKill: ReceiverCount[],
    private readonly pollMs: number,
    private readonly steadyMs: number,
  ) {
    this.previous = beforeKill;
  }

  observe(rows: ReceiverCount[], at: number): Recovery | undefined {
    const known = new Set(this.beforeKill.map((r) => r.key));
    const fresh = rows.find((r) => !known.has(r.key) && r.framesDecoded > 0);
    const last = new Map(this.previous.map((r) => [r.key, r.framesDecoded]));
    this.previous = rows;
    if (fresh) return { at, evidence: `new receiver ${fresh.key} decoding` };
    const rising = rows.length > 0 && rows.every((r) => r.framesDecoded > (last.get(r.key) ?? 0));
    this.steadySince = rising ? (this.steadySince ?? at - this.pollMs) : undefined;
    if (this.steadySince !== undefined && at - this.steadySince >= this.steadyMs) {
      return { at: this.steadySince, evidence: `old receivers decoding without a pause for ${this.steadyMs} ms` };
    }
    return undefined;
  }
}
