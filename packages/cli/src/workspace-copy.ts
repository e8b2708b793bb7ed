import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readlinkSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A working copy of this repository in `target`, for trying a change that writes many files (the
 * scaffold's test): every file git knows (committed or not; ignored ones left out), the client's
 * build, and a `node_modules` that links each installed package of `root`, but whose workspace
 * links (`@armature/*`, relative) point at the copy's own folders.
 */
export function copyWorkspace(root: string, target: string): void {
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], {
    cwd: root,
    encoding: 'utf8',
  })
    .split('\0')
    .filter(Boolean);
  for (const file of files) cpSync(join(root, file), join(target, file), { force: true });
  cpSync(join(root, 'packages/client/dist'), join(target, 'packages/client/dist'), { recursive: true });
  const modules = join(target, 'node_modules');
  mkdirSync(join(modules, '@armature'), { recursive: true });
  for (const entry of readdirSync(join(root, 'node_modules'))) {
    if (entry !== '@armature') symlinkSync(join(root, 'node_modules', entry), join(modules, entry));
  }
  for (const entry of readdirSync(join(root, 'node_modules/@armature'))) {
    const link = readlinkSync(join(root, 'node_modules/@armature', entry));
    symlinkSync(link, join(modules, '@armature', entry));
    // A workspace's own node_modules (versions that differ from the hoisted ones), shared as is.
    const own = join(root, 'node_modules/@armature', link, 'node_modules');
    if (existsSync(own)) symlinkSync(own, join(modules, '@armature', link, 'node_modules'));
  }
}
