import type { FastifyRequest } from 'fastify';
import { errorCodes as fastifyErrors } from 'fastify';
import { parse as secureJsonParse } from 'secure-json-parse';
import { ApiError } from '../errors.ts';

/** Objects and arrays nested deeper than this are refused: no request of this API comes close. */
export const MAX_JSON_DEPTH = 32;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
const suspiciousEscape = /\\u(?:0000|[dD][89a-fA-F])/;

function invalid(field: string, message: string): ApiError {
  return new ApiError('VALIDATION_ERROR', { details: [{ field, message }] });
}

/**
 * The JSON body parser of every server (`application/json`, and any JSON media type a route adds,
 * such as `application/merge-patch+json`). Beyond `JSON.parse` it refuses, with a 400:
 *
 * - bytes that are not UTF-8 (overlong forms, encoded surrogates, stray bytes): decoding them
 *   leniently would store U+FFFD in place of what the client sent;
 * - a member name twice in one object: `JSON.parse` keeps the last, another parser (a proxy, a
 *   WAF, a log pipeline) may keep the first, so the two would disagree about what the request says;
 * - nesting deeper than {@link MAX_JSON_DEPTH};
 * - strings holding NUL (PostgreSQL text cannot store it) or an unpaired surrogate (not Unicode);
 * - `__proto__` and `constructor.prototype` keys (prototype poisoning), as Fastify's own parser does.
 *
 * Media types with a `charset` other than UTF-8 are a 415. The structural checks are one scan of the
 * text that skips over string contents with `indexOf`, so they cost little next to `JSON.parse`;
 * no JSON library reports duplicate names and depth without building a full syntax tree.
 */
export async function parseJsonBody(request: FastifyRequest, body: Buffer | string): Promise<unknown> {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(request.headers['content-type'] ?? '')?.[1];
  if (charset && !/^utf-?8$/i.test(charset)) {
    throw new ApiError('UNSUPPORTED_MEDIA_TYPE', { message: 'JSON bodies must be encoded in UTF-8' });
  }
  let text: string;
  if (typeof body === 'string') {
    text = body;
  } else {
    try {
      text = utf8.decode(body);
    } catch {
      throw new ApiError('MALFORMED_JSON', { message: 'The request body is not valid UTF-8' });
    }
  }
  if (text.trim() === '') throw new fastifyErrors.FST_ERR_CTP_EMPTY_JSON_BODY();
  let value: unknown;
  try {
    value = secureJsonParse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch {
    throw new ApiError('MALFORMED_JSON');
  }
  checkStructure(text);
  if (suspiciousEscape.test(text)) checkStrings(value, '');
  return value;
}

interface Frame {
  /** Member names seen so far; undefined for an array. */
  names?: Set<string>;
  path: string;
  expectName: boolean;
}

/** One pass over valid JSON text: depth, and duplicate member names (compared after unescaping). */
function checkStructure(text: string): void {
  const stack: Frame[] = [];
  let lastName = '';
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (char === 0x22 /* " */) {
      let end = text.indexOf('"', i + 1);
      while (isEscaped(text, end)) end = text.indexOf('"', end + 1);
      const top = stack.at(-1);
      if (top?.names && top.expectName) {
        const raw = text.slice(i + 1, end);
        const name = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
        if (top.names.has(name)) throw invalid(join(top.path, name), 'appears more than once');
        top.names.add(name);
        lastName = name;
      }
      i = end;
    } else if (char === 0x7b /* { */ || char === 0x5b /* [ */) {
      if (stack.length >= MAX_JSON_DEPTH) {
        throw invalid('body', `is nested more than ${MAX_JSON_DEPTH} levels deep`);
      }
      const parent = stack.at(-1);
      const path = parent === undefined ? '' : parent.names ? join(parent.path, lastName) : parent.path;
      stack.push({ names: char === 0x7b ? new Set() : undefined, path, expectName: char === 0x7b });
    } else if (char === 0x7d /* } */ || char === 0x5d /* ] */) {
      stack.pop();
    } else if (char === 0x2c /* , */) {
      const top = stack.at(-1);
      if (top?.names) top.expectName = true;
    } else if (char === 0x3a /* : */) {
      const top = stack.at(-1);
      if (top) top.expectName = false;
    }
  }
}

/** Whether the quote at `index` is escaped (preceded by an odd number of backslashes). */
function isEscaped(text: string, index: number): boolean {
  let backslashes = 0;
  for (let j = index - 1; j >= 0 && text.charCodeAt(j) === 0x5c; j--) backslashes++;
  return backslashes % 2 === 1;
}

function join(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}

/** NUL and unpaired surrogates can only arrive as `\u` escapes; this runs only when one is present. */
function checkStrings(value: unknown, path: string): void {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) throw invalid(path || 'body', 'must not contain NUL characters');
    if (!value.isWellFormed()) throw invalid(path || 'body', 'is not valid Unicode (unpaired surrogate)');
  } else if (Array.isArray(value)) {
    for (const item of value) checkStrings(item, path);
  } else if (value !== null && typeof value === 'object') {
    for (const [name, item] of Object.entries(value)) {
      checkStrings(name, path);
      checkStrings(item, join(path, name));
    }
  }
}
