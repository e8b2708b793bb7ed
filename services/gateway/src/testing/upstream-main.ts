import { startFakeUpstream } from './fake-upstream.ts';

/**
 * A fake upstream as its own process, for tests that kill and restart an instance:
 * `UPSTREAM_NAME`, `UPSTREAM_PORT` (0 = any) and `UPSTREAM_KEYS` (a JSON list of JWKs) in the
 * environment; prints `{"url": …}` once listening.
 */
const upstream = await startFakeUpstream({
  name: process.env.UPSTREAM_NAME ?? 'upstream',
  port: Number(process.env.UPSTREAM_PORT ?? 0),
  keys: process.env.UPSTREAM_KEYS ? JSON.parse(process.env.UPSTREAM_KEYS) : [],
});
process.stdout.write(`${JSON.stringify({ url: upstream.url })}\n`);
process.on('SIGTERM', () => {
  upstream.close().then(() => process.exit(0));
});
