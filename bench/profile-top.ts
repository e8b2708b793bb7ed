/**
 * The top frames of a V8 CPU profile (`node --cpu-prof`), by self time, and the same time summed per
 * package or project folder: where a process spends its CPU under load.
 *
 *   npx node bench/profile-top.ts <file.cpuprofile> [how many, default 25] [last seconds only]
 *
 * The third argument keeps only the samples of the profile's last N seconds (e.g. a load phase that
 * ended when the process was stopped), leaving out start-up.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, count = '25', last] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: profile-top.ts <file.cpuprofile> [how many]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const selfUs = new Map<number, number>();
const spanUs = profile.timeDeltas.reduce((sum, delta) => sum + delta, 0);
const fromUs = last === undefined ? 0 : spanUs - Number(last) * 1e6;
let clock = 0;
profile.samples.forEach((id, index) => {
  const delta = profile.timeDeltas[index] ?? 0;
  clock += delta;
  if (clock >= fromUs) selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
});
const total = [...selfUs.values()].reduce((sum, us) => sum + us, 0);

/** `node_modules/fastify/lib/x.js` → `fastify`; `services/users/src/…` → `services/users`. */
function area(url: string): string {
  if (!url) return '(native / V8)';
  if (url.startsWith('node:')) return 'node:internal';
  const modules = url.lastIndexOf('node_modules/');
  if (modules !== -1) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const match = /(services\/[^/]+|packages\/[^/]+|bench)\//.exec(url);
  return match ? match[1]! : url;
}

const frames = new Map<string, number>();
const areas = new Map<string, number>();
for (const [id, us] of selfUs) {
  const node = byId.get(id);
  if (!node) continue;
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url
    ? `${url.replace(/^.*?(node_modules\/|services\/|packages\/)/, '$1')}:${lineNumber + 1}`
    : '';
  const key = `${functionName || '(anonymous)'} ${where}`.trim();
  frames.set(key, (frames.get(key) ?? 0) + us);
  const name = area(url);
  areas.set(name, (areas.get(name) ?? 0) + us);
}

// Shares of the time the process was busy: idle time (waiting for I/O) is left out.
const idle = frames.get('(idle)') ?? 0;
const busy = total - idle;
frames.delete('(idle)');
areas.set('(native / V8)', (areas.get('(native / V8)') ?? 0) - idle);
const percent = (us: number) => `${((us / busy) * 100).toFixed(1).padStart(5)}%`;
const top = (map: Map<string, number>, n: number) =>
  [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, us]) => `  ${percent(us)}  ${name}`);
const lines = [
  `${(total / 1e6).toFixed(2)} s of samples in ${file}, ${(busy / 1e6).toFixed(2)} s of them busy; shares of the busy time:`,
  '',
  'by package or folder (self time):',
  ...top(areas, 15),
  '',
  'top frames (self time):',
  ...top(frames, Number(count)),
];
process.stdout.write(`${lines.join('\n')}\n`);
