import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Server, startServer } from './processes.ts';

const candidates = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx'];

function findNginx(): string | undefined {
  for (const path of candidates) if (existsSync(path)) return path;
  const which = spawnSync('which', ['nginx'], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() : undefined;
}

/**
 * nginx's path, installing Debian's nginx-light when it is missing (with apt-get, as root); or the
 * reason it cannot be had, which the report then states.
 */
export function ensureNginx(log: (line: string) => void): { path?: string; reason?: string } {
  const found = findNginx();
  if (found) return { path: found };
  if (process.getuid?.() !== 0) return { reason: 'nginx is not installed and installing it needs root' };
  log('nginx is missing: installing nginx-light with apt-get');
  try {
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'nginx-light'], {
      stdio: 'ignore',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      timeout: 300_000,
    });
  } catch {
    try {
      execFileSync('apt-get', ['update'], { stdio: 'ignore', timeout: 300_000 });
      execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'nginx-light'], {
        stdio: 'ignore',
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
        timeout: 300_000,
      });
    } catch (error) {
      return { reason: `installing nginx-light failed: ${(error as Error).message.split('\n')[0]}` };
    }
  }
  const path = findNginx();
  return path ? { path } : { reason: 'nginx-light installed but no nginx binary found' };
}

/**
 * nginx as a plain reverse proxy: one worker process (the gateway it is compared with is one
 * process too), no access log (the bench's services log at warn), HTTP/1.1 keep-alive to the
 * upstream with a pool of idle connections, nothing else.
 */
export async function startNginx(options: {
  binary: string;
  name: string;
  upstream: string;
  port: number;
  dir: string;
}): Promise<Server> {
  const prefix = join(options.dir, options.name);
  mkdirSync(prefix, { recursive: true });
  const upstream = new URL(options.upstream);
  const config = `
worker_processes 1;
# One process, so that its CPU time is read from one /proc entry; the worker loop is the same.
master_process off;
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  keepalive_requests 1000000;
  upstream service {
    server ${upstream.host};
    keepalive 128;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${options.port};
    location / {
      proxy_pass http://service;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
}
`;
  const file = join(prefix, 'nginx.conf');
  writeFileSync(file, config);
  return startServer({
    name: options.name,
    command: [options.binary, '-p', prefix, '-c', file],
    env: process.env,
    url: `http://127.0.0.1:${options.port}`,
    logDir: options.dir,
  });
}
