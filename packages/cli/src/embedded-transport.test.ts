import { ConfigError } from '@armature/platform';
import { describe, expect, it } from 'vitest';
import { readEmbeddedTransport, startEmbedded } from './embedded.ts';

describe('EMBEDDED_TRANSPORT', () => {
  it('hands requests to the services in process unless told otherwise', () => {
    expect(readEmbeddedTransport({})).toBe('in-process');
    expect(readEmbeddedTransport({ EMBEDDED_TRANSPORT: 'http' })).toBe('http');
  });

  it('stops the start on any other value, naming the variable', async () => {
    const start = startEmbedded({ EMBEDDED_TRANSPORT: 'sockets', PORT: '0' });
    await expect(start).rejects.toBeInstanceOf(ConfigError);
    await expect(start).rejects.toThrow(/EMBEDDED_TRANSPORT.*in-process, http/);
  });
});
