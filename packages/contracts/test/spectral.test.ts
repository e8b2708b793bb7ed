import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const spectral = join(dirname(require.resolve('@stoplight/spectral-cli/package.json')), 'dist/index.js');
const ruleset = fileURLToPath(new URL('../spectral/ruleset.yaml', import.meta.url));
const projectDocument = fileURLToPath(new URL('../openapi.json', import.meta.url));

interface Finding {
  code: string;
  message: string;
  path: string[];
  severity: number;
}

/** Runs `spectral lint` as CI does and returns its findings (severity 0 is an error). */
function lint(file: string): Promise<Finding[]> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [spectral, 'lint', file, '--ruleset', ruleset, '--format', 'json', '--quiet'],
      { maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        // Exit code 1 means "errors found": the findings are still on stdout.
        if (error && error.code !== 1)
          return reject(new Error(`spectral failed: ${stderr || error.message}`));
        try {
          resolve(stdout.trim() === '' ? [] : (JSON.parse(stdout) as Finding[]));
        } catch {
          reject(new Error(`spectral printed no JSON: ${stdout.slice(0, 500)} ${stderr.slice(0, 500)}`));
        }
      },
    );
  });
}

const envelope = { $ref: '#/components/schemas/ErrorEnvelope' };
const json = (schema: object) => ({ 'application/json': { schema } });
const rateLimited = {
  'X-RateLimit-Limit': { schema: { type: 'integer', minimum: 1, maximum: 1000, format: 'int32' } },
};
const User = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name'],
  properties: {
    id: { type: 'string', maxLength: 40, pattern: '^usr_[a-z0-9]{26}$' },
    name: { type: 'string', maxLength: 100, pattern: '^.+$' },
  },
};

/** A small API that breaks each project rule once, and otherwise keeps them and OWASP's. */
const badDocument = {
  openapi: '3.1.0',
  info: { title: 'Bad', version: '1', description: 'A sample that breaks the rules', contact: { name: 'x' } },
  servers: [{ url: 'https://api.example.com', description: 'production', 'x-internal': false }],
  tags: [{ name: 'Users' }],
  paths: {
    '/getUser': {
      get: {
        operationId: 'getUser',
        summary: 'A verb in the path',
        description: 'x',
        tags: ['Users'],
        security: [{ bearer: [] }],
        responses: {
          '200': { description: 'OK', headers: rateLimited, content: json(User) },
          '400': { description: 'Bad', headers: rateLimited, content: json(envelope) },
          '401': { description: 'No token', headers: rateLimited, content: json(envelope) },
          '404': {
            description: 'An error without the envelope',
            headers: rateLimited,
            content: json({ type: 'object', additionalProperties: false, properties: {} }),
          },
          '500': { description: 'Oops', content: json(envelope) },
        },
      },
    },
    '/user/{id}': {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', maxLength: 40 } }],
      get: {
        operationId: 'readUser',
        summary: 'A singular collection',
        description: 'x',
        tags: ['Users'],
        security: [{ bearer: [] }],
        responses: {
          '200': {
            description: 'OK',
            headers: rateLimited,
            content: json({
              type: 'object',
              additionalProperties: false,
              properties: {
                id: { type: 'string', maxLength: 40 },
                created_at: { type: 'string', maxLength: 40, format: 'date-time' },
              },
            }),
          },
          '400': { description: 'Bad', headers: rateLimited, content: json(envelope) },
          '500': { description: 'Oops', content: json(envelope) },
        },
      },
    },
    '/users': {
      get: {
        operationId: 'listUsers',
        summary: 'A list without pagination, and a limit without a maximum',
        description: 'x',
        tags: ['Users'],
        security: [{ bearer: [] }],
        parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1 } }],
        responses: {
          '200': {
            description: 'OK',
            headers: rateLimited,
            content: json({ type: 'array', maxItems: 10, items: User }),
          },
          '400': { description: 'Bad', headers: rateLimited, content: json(envelope) },
          '500': { description: 'Oops', content: json(envelope) },
        },
      },
      post: {
        operationId: 'createUser',
        summary: 'A 201 without Location',
        description: 'x',
        tags: ['Users'],
        security: [{ bearer: [] }],
        requestBody: {
          required: true,
          content: json({ type: 'object', properties: { name: { type: 'string', maxLength: 100 } } }),
        },
        responses: {
          '201': { description: 'Created', headers: rateLimited, content: json(User) },
          '400': { description: 'Bad', headers: rateLimited, content: json(envelope) },
          '500': { description: 'Oops', content: json(envelope) },
        },
      },
    },
  },
  components: {
    schemas: {
      ErrorEnvelope: {
        type: 'object',
        additionalProperties: false,
        properties: {
          error: { type: 'string', maxLength: 10 },
          requestId: { type: 'string', maxLength: 10 },
        },
      },
    },
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Follows RFC8725' },
    },
  },
};

let folder: string;
let badFindings: Finding[];
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'armature-spectral-'));
  const file = join(folder, 'bad-openapi.json');
  await writeFile(file, JSON.stringify(badDocument, null, 2));
  badFindings = await lint(file);
}, 120_000);
afterAll(() => rm(folder, { recursive: true, force: true }));

function errors(findings: Finding[], code: string) {
  return findings.filter((finding) => finding.code === code && finding.severity === 0);
}

describe('the contract ruleset', () => {
  it('finds no error in the project’s own openapi.json', async () => {
    const findings = await lint(projectDocument);
    const found = findings.filter((finding) => finding.severity === 0);
    expect(
      found.map((finding) => `${finding.code} at ${finding.path.join('.')}: ${finding.message}`),
    ).toEqual([]);
  }, 120_000);

  it('flags verbs and singular nouns in paths', () => {
    const messages = errors(badFindings, 'armature-resource-paths').map((finding) => finding.message);
    expect(messages).toEqual([
      expect.stringMatching(/^\/getUser: "getUser" contains the verb "get"/),
      expect.stringMatching(/^\/user\/\{id\}: "user" must be a plural noun/),
    ]);
  });

  it('flags a 4xx answered without the error envelope', () => {
    const found = errors(badFindings, 'armature-error-envelope');
    expect(found.map((finding) => finding.path.join('.'))).toEqual(['paths./getUser.get.responses.404']);
  });

  it('flags a 201 without a Location header', () => {
    const found = errors(badFindings, 'armature-created-location');
    expect(found.map((finding) => finding.path.slice(0, 5).join('.'))).toEqual([
      'paths./users.post.responses.201',
    ]);
  });

  it('flags a list without pagination parameters and envelope', () => {
    const messages = errors(badFindings, 'armature-list-envelope')
      .map((finding) => finding.message)
      .filter((message) => message.startsWith('GET /users '));
    expect(messages).toEqual([
      'GET /users lists a collection but lacks the pagination parameters page, cursor',
      expect.stringMatching(
        /^GET \/users lists a collection: its 200 must be \{data: \[\.\.\.\], pagination/,
      ),
    ]);
  });

  it('flags a snake_case property, an id without its prefix and an open object', () => {
    expect(errors(badFindings, 'armature-camel-case-properties').map((finding) => finding.message)).toEqual([
      '`created_at` must be camelCase',
    ]);
    expect(errors(badFindings, 'armature-prefixed-ids').map((finding) => finding.path.join('.'))).toEqual([
      'paths./user/{id}.get.responses.200.content.application/json.schema.properties.id',
    ]);
    expect(
      errors(badFindings, 'armature-closed-objects').map((finding) => finding.path.slice(0, 4).join('.')),
    ).toEqual(['paths./users.post.requestBody']);
  });

  it('applies the OWASP rules too: an unbounded integer is an error', () => {
    const found = errors(badFindings, 'owasp:api4:2023-integer-limit');
    expect(found.map((finding) => finding.path.slice(0, 5).join('.'))).toContain(
      'paths./users.get.parameters.0',
    );
  });
});
