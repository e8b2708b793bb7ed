import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../config.ts';
import { mailLink, readMailConfig } from './config.ts';
import { folderMailer } from './transports.ts';

describe('mail settings', () => {
  it('default to the mail folder under DATA_DIR and links under localhost', () => {
    const config = readMailConfig({ DATA_DIR: '/srv/data' });
    expect(config).toMatchObject({
      url: undefined,
      dir: join('/srv/data', 'mail'),
      from: 'Armature <no-reply@localhost>',
      publicUrl: 'http://localhost:8080',
    });
  });

  it('stop the start on a value that is present but invalid, naming the variable', () => {
    expect(() => readMailConfig({ MAIL_URL: 'http://mail.example.com' })).toThrow(ConfigError);
    expect(() => readMailConfig({ MAIL_URL: 'http://mail.example.com' })).toThrow(/MAIL_URL/);
    expect(() => readMailConfig({ MAIL_FROM: 'not an address' })).toThrow(/MAIL_FROM/);
    expect(() => readMailConfig({ PUBLIC_URL: 'ftp://example.com' })).toThrow(/PUBLIC_URL/);
    expect(() => readMailConfig({ MAIL_RETRY_MAX_MS: '10' })).toThrow(/MAIL_RETRY_MAX_MS/);
  });

  it('build links from PUBLIC_URL with the token as the token= parameter', () => {
    const config = readMailConfig({ PUBLIC_URL: 'https://shop.example.com/app/' });
    expect(mailLink(config, '/reset-password', 'abc_DEF-123')).toBe(
      'https://shop.example.com/app/reset-password?token=abc_DEF-123',
    );
  });
});

describe('the mail folder', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'armature-mail-unit-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('writes each message as a whole .eml file readable only by its owner, and logs the file, not the body', async () => {
    const lines: Array<{ details: object; message: string }> = [];
    const mailer = folderMailer(
      { dir: join(dir, 'mail'), from: 'Shop <no-reply@shop.example.com>' },
      { info: (details, message) => lines.push({ details, message }) },
    );
    await mailer.send({
      id: '0190a5b2-0000-7000-8000-000000000001',
      to: 'ada@example.com',
      subject: 'Reset your password',
      text: 'Open https://shop.example.com/reset-password?token=SECRET',
      html: '<p>Open <a href="https://shop.example.com/reset-password?token=SECRET">this</a></p>',
    });
    await mailer.close();
    const files = await readdir(join(dir, 'mail'));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/\.eml$/);
    const file = join(dir, 'mail', files[0]!);
    const raw = await readFile(file, 'utf8');
    expect(raw).toMatch(/^Message-ID: <0190a5b2-0000-7000-8000-000000000001@shop\.example\.com>$/m);
    expect(raw).toMatch(/^To: ada@example\.com$/m);
    expect(raw).toContain('multipart/alternative');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(lines).toHaveLength(1);
    expect(JSON.stringify(lines)).not.toContain('SECRET');
  });
});
