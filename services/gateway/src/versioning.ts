import { ApiError, type ErrorDetail } from '@armature/platform';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export const supportedVersions = ['1', '2'] as const;
export type ApiVersion = (typeof supportedVersions)[number];

/** Where an API request goes, once its version is settled. */
export interface ApiTarget {
  version: ApiVersion;
  /** The path without version prefix and query (`/users/me`): what ownership and the allow-list read. */
  path: string;
  /** Path and query to request from the owning service: always versioned, `version` parameter removed. */
  upstreamUrl: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set on API routes (those with `config.api`) before any other gateway hook runs. */
    api: ApiTarget | null;
  }
  interface FastifyContextConfig {
    /** A versioned API route, forwarded to a service. */
    api?: boolean;
  }
}

const versionParameter = /^\s*version\s*=\s*"?([^";\s]*)"?\s*$/i;

/**
 * Settles the version of an API request from its three possible sources: the path (`/v2/users`), the
 * `Accept` header (`application/vnd.api+json;version=2`) and the query (`?version=2`). Sources that are
 * given must name a supported version and agree with each other; none given means v1. Either failure
 * is a 400 UNSUPPORTED_VERSION whose details name the sources.
 */
export function resolveApiTarget(url: string, accept: string | undefined): ApiTarget {
  const queryStart = url.indexOf('?');
  const path = queryStart === -1 ? url : url.slice(0, queryStart);
  let query = queryStart === -1 ? '' : url.slice(queryStart + 1);

  const claims: Array<{ source: string; version: string }> = [];
  let rest = path;
  const pathVersion = /^\/v(\d+)(?=\/)/.exec(path);
  if (pathVersion) {
    claims.push({ source: 'path', version: pathVersion[1] });
    rest = path.slice(pathVersion[0].length);
  }
  if (accept?.includes('vnd.api+json')) {
    for (const range of accept.split(',')) {
      const [mediaType, ...parameters] = range.split(';');
      if (mediaType.trim().toLowerCase() !== 'application/vnd.api+json') continue;
      for (const parameter of parameters) {
        const match = versionParameter.exec(parameter);
        if (match) claims.push({ source: 'Accept', version: match[1] });
      }
    }
  }
  if (query.includes('version')) {
    const kept: string[] = [];
    for (const pair of query.split('&')) {
      const equals = pair.indexOf('=');
      const key = equals === -1 ? pair : pair.slice(0, equals);
      if (safeDecode(key) === 'version') {
        claims.push({ source: 'version', version: safeDecode(equals === -1 ? '' : pair.slice(equals + 1)) });
      } else if (pair) {
        kept.push(pair);
      }
    }
    query = kept.join('&');
  }

  const unsupported = claims.filter((claim) => !isSupported(claim.version));
  if (unsupported.length > 0) {
    throw new ApiError('UNSUPPORTED_VERSION', {
      message: `API version ${unsupported[0].version || '(empty)'} is not supported; use ${supportedVersions.join(' or ')}`,
      details: unsupported.map((claim) => ({ field: claim.source, message: 'names an unsupported version' })),
    });
  }
  const versions = new Set(claims.map((claim) => claim.version));
  if (versions.size > 1) {
    const details: ErrorDetail[] = claims.map((claim) => ({
      field: claim.source,
      message: `asks for version ${claim.version}`,
    }));
    throw new ApiError('UNSUPPORTED_VERSION', {
      message: 'The request asks for more than one API version; name one, in one place',
      details,
    });
  }
  const version = (claims[0]?.version ?? '1') as ApiVersion;
  const upstreamPath = `/v${version}${rest}`;
  return { version, path: rest, upstreamUrl: query ? `${upstreamPath}?${query}` : upstreamPath };
}

function isSupported(version: string): version is ApiVersion {
  return (supportedVersions as readonly string[]).includes(version);
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value.replaceAll('+', ' ')).trim();
  } catch {
    return value;
  }
}

export interface VersioningOptions {
  /** When v1 was deprecated and when it goes away (`Deprecation`, `Sunset` on every v1 response). */
  v1Deprecation: Date;
  v1Sunset: Date;
}

/**
 * Resolves the version of every API route's request and labels the response: `API-Version` always,
 * plus `Deprecation` (RFC 9745) and `Sunset` (RFC 8594) on v1. The header values are built once.
 */
export const versioning = fp(
  async (app: FastifyInstance, options: VersioningOptions) => {
    const headers: Record<ApiVersion, Record<string, string>> = {
      '1': {
        'api-version': '1',
        deprecation: `@${Math.floor(options.v1Deprecation.getTime() / 1000)}`,
        sunset: options.v1Sunset.toUTCString(),
        link: '</v2>; rel="successor-version"',
      },
      '2': { 'api-version': '2' },
    };
    app.decorateRequest('api', null);
    app.addHook('onRequest', (request, reply, done) => {
      if (request.routeOptions.config.api !== true) return done();
      let target: ApiTarget;
      try {
        target = resolveApiTarget(request.url, request.headers.accept);
      } catch (error) {
        return done(error as Error);
      }
      request.api = target;
      reply.headers(headers[target.version]);
      done();
    });
  },
  { name: 'gateway-versioning' },
);
