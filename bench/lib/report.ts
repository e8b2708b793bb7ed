/**
 * The report's arithmetic and formatting, kept free of I/O so that it can be checked on fixed inputs
 * (bench/report.test.ts). Nothing here measures anything.
 */

/** The value at `fraction` (0..1) of an ascending array; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * fraction) - 1));
  return sorted[index]!;
}

export interface Measurement {
  /** Operations per second (requests, or completed checkouts). */
  rate: number;
  requestsPerSecond: number;
  operations: number;
  seconds: number;
  p50: number;
  p99: number;
  p999: number;
  errors: number;
  statuses: Record<string, number>;
  cpuPerOperationUs: Record<string, number>;
}

export interface Row extends Measurement {
  /** Stable key, `<scenario>.<target>`, e.g. `me.gateway`. */
  id: string;
  scenario: string;
  target: string;
  /** Non-2xx answers are the point of this row (a deliberate limit): not counted as errors. */
  expectsRefusals?: boolean;
  note?: string;
  /** A cached read's `X-Cache` after the warm-up. */
  cache?: string;
}

export interface Target {
  /** `>=`, `>` or `<` against `threshold`. */
  op: '>=' | '>' | '<';
  threshold: number;
}

export interface Ratio {
  name: string;
  value: number;
  unit: '×' | 'ms' | '/s';
  target?: Target;
  /** Undefined without a target, or when a figure is missing. */
  met?: boolean;
  note?: string;
}

export interface RatioSpec {
  name: string;
  /** `a / b` of rates, `a - b` of medians, or the plain rate of `a`. */
  kind: 'rate-ratio' | 'p50-difference' | 'rate';
  a: string;
  b?: string;
  target?: Target;
  /** For `rate` targets: also require zero errors. */
  zeroErrors?: boolean;
  note?: string;
}

export function meets(value: number, target: Target): boolean {
  if (!Number.isFinite(value)) return false;
  if (target.op === '>=') return value >= target.threshold;
  if (target.op === '>') return value > target.threshold;
  return value < target.threshold;
}

/** Evaluates each spec over the rows; a spec naming a missing row gives NaN (and `met` false). */
export function computeRatios(rows: Row[], specs: RatioSpec[]): Ratio[] {
  const byId = new Map(rows.map((row) => [row.id, row]));
  return specs.map((spec) => {
    const a = byId.get(spec.a);
    const b = spec.b === undefined ? undefined : byId.get(spec.b);
    let value = Number.NaN;
    let unit: Ratio['unit'] = '×';
    if (spec.kind === 'rate-ratio') {
      if (a && b && b.rate > 0) value = a.rate / b.rate;
    } else if (spec.kind === 'p50-difference') {
      unit = 'ms';
      if (a && b) value = a.p50 - b.p50;
    } else {
      unit = '/s';
      if (a) value = a.rate;
    }
    const ratio: Ratio = { name: spec.name, value, unit };
    if (spec.note) ratio.note = spec.note;
    if (spec.target) {
      ratio.target = spec.target;
      ratio.met = meets(value, spec.target) && (!spec.zeroErrors || (a !== undefined && a.errors === 0));
    }
    return ratio;
  });
}

/** Rows that answered anything but 2xx (or failed to connect) without that being their point. */
export function rowsWithErrors(rows: Row[]): Row[] {
  return rows.filter((row) => row.errors > 0 && !row.expectsRefusals);
}

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '–';
}

/** `12345.6` → `12,346`. */
export function formatRate(value: number): string {
  if (!Number.isFinite(value)) return '–';
  return Math.round(value).toLocaleString('en-US');
}

/** Milliseconds with two decimals below 10 ms, one below 100, none above. */
export function formatMs(value: number): string {
  if (!Number.isFinite(value)) return '–';
  if (value < 10) return value.toFixed(2);
  if (value < 100) return value.toFixed(1);
  return value.toFixed(0);
}

/** `{"gateway": 41.2, "users": 88}` → `gateway 41 · users 88`. */
export function formatCpu(cpu: Record<string, number>): string {
  return Object.entries(cpu)
    .map(([name, us]) => `${name} ${fixed(us, 0)}`)
    .join(' · ');
}

/** Status counts other than 2xx, e.g. `429×12`, or empty. */
export function formatRefusals(statuses: Record<string, number>): string {
  return Object.entries(statuses)
    .filter(([status]) => !status.startsWith('2'))
    .map(([status, n]) => `${status}×${n}`)
    .join(' ');
}

export function formatRatioValue(ratio: Ratio): string {
  if (ratio.unit === 'ms') return `${ratio.value >= 0 ? '+' : ''}${fixed(ratio.value, 3)} ms`;
  if (ratio.unit === '/s') return `${formatRate(ratio.value)}/s`;
  return `${fixed(ratio.value, 2)}×`;
}

export function formatTarget(target: Target | undefined, unit: Ratio['unit']): string {
  if (!target) return '';
  const threshold =
    unit === 'ms'
      ? `${target.threshold} ms`
      : unit === '/s'
        ? `${formatRate(target.threshold)}/s`
        : `${target.threshold}×`;
  return `${target.op} ${threshold}`;
}

/** The results as one Markdown table, grouped by scenario in row order. */
export function resultsTable(rows: Row[]): string {
  const lines = [
    '| scenario | target | ops/s | p50 ms | p99 ms | p99.9 ms | errors | CPU µs per op (each process) |',
    '|---|---|---:|---:|---:|---:|---:|---|',
  ];
  let previous = '';
  for (const row of rows) {
    const scenario = row.scenario === previous ? '' : row.scenario;
    previous = row.scenario;
    const refusals = formatRefusals(row.statuses);
    const errors =
      row.errors === 0
        ? '0'
        : row.expectsRefusals
          ? `${row.errors} (${refusals}, expected)`
          : `**${row.errors}** ${refusals}`.trim();
    const target = row.note ? `${row.target} (${row.note})` : row.target;
    lines.push(
      `| ${scenario} | ${target} | ${formatRate(row.rate)} | ${formatMs(row.p50)} | ${formatMs(row.p99)} | ${formatMs(row.p999)} | ${errors} | ${formatCpu(row.cpuPerOperationUs)} |`,
    );
  }
  return lines.join('\n');
}

export function ratiosTable(ratios: Ratio[]): string {
  const lines = ['| comparison | value | target | met |', '|---|---:|---|:---:|'];
  for (const ratio of ratios) {
    const met = ratio.met === undefined ? '' : ratio.met ? 'yes' : '**no**';
    const name = ratio.note ? `${ratio.name} (${ratio.note})` : ratio.name;
    lines.push(
      `| ${name} | ${formatRatioValue(ratio)} | ${formatTarget(ratio.target, ratio.unit)} | ${met} |`,
    );
  }
  return lines.join('\n');
}

/**
 * Replaces the text between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->` in `doc` (markers kept);
 * throws when the markers are missing, so a reshaped document is noticed rather than half-updated.
 */
export function replaceSection(doc: string, name: string, content: string): string {
  const open = `<!-- bench:${name} -->`;
  const close = `<!-- /bench:${name} -->`;
  const start = doc.indexOf(open);
  const end = doc.indexOf(close);
  if (start === -1 || end === -1 || end < start)
    throw new Error(`docs/benchmarks.md lacks the ${name} markers`);
  return `${doc.slice(0, start + open.length)}\n${content.trim()}\n${doc.slice(end)}`;
}
