import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * The browser the browser suites drive: Debian's Chromium, through playwright-core (a test tool's
 * own browser download cannot be had here). The test run installs it where the machine lets it
 * (root or passwordless sudo, and Debian's packages reachable); where it cannot, the browser suites
 * are skipped with the reason and the command that fixes it — except under CI=true, where a missing
 * browser fails the run.
 *
 *   node packages/testing/src/browser.ts     install it now, as the test run would
 */

export const chromiumPath = '/usr/bin/chromium';
export const installCommand = 'sudo apt-get update && sudo apt-get install -y chromium';

export type BrowserAvailability = { executablePath: string } | { missing: string };

/** Flags for a headless Chromium on a machine with no network: no background traffic, no sandbox as root. */
export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Finds Chromium, installing it with apt-get when it is missing and the machine allows it. */
export function ensureChromium(log: (line: string) => void = console.log): BrowserAvailability {
  if (existsSync(chromiumPath)) return { executablePath: chromiumPath };
  const privilege = installPrivilege();
  if ('missing' in privilege) return privilege;
  log(`Chromium is missing: installing Debian's chromium package with apt-get for the browser tests…`);
  const [command, ...prefix] = [...privilege.prefix, 'apt-get'];
  const apt = (...args: string[]) =>
    spawnSync(command as string, [...prefix, ...args], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      encoding: 'utf8',
      timeout: 900_000,
    });
  const lockWait = ['-o', 'DPkg::Lock::Timeout=300'];
  apt('update', '-qq', ...lockWait);
  const install = apt('install', '-y', '-qq', '--no-install-recommends', ...lockWait, 'chromium');
  if (install.status !== 0 || !existsSync(chromiumPath)) {
    const why = `${install.stderr ?? ''}${install.error?.message ?? ''}`.trim().split('\n').at(-1);
    return {
      missing: `apt-get could not install chromium (${why || `exit ${install.status}`}); run: ${installCommand}`,
    };
  }
  log(`Chromium installed: ${version()}`);
  return { executablePath: chromiumPath };
}

function installPrivilege(): { prefix: string[] } | { missing: string } {
  if (!existsSync('/usr/bin/apt-get')) {
    return {
      missing: `Chromium is not at ${chromiumPath} and this machine has no apt-get; install Chromium there`,
    };
  }
  if (process.getuid?.() === 0) return { prefix: [] };
  if (spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0) return { prefix: ['sudo', '-n'] };
  return {
    missing: `Chromium is not at ${chromiumPath}, and installing it needs root or passwordless sudo; run: ${installCommand}`,
  };
}

function version(): string {
  try {
    return execFileSync(chromiumPath, ['--version'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return chromiumPath;
  }
}

if (import.meta.main) {
  const found = ensureChromium();
  if ('missing' in found) {
    console.error(found.missing);
    process.exit(1);
  }
  console.log(`Chromium is ready at ${found.executablePath}`);
}
