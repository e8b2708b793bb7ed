import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';
import type { Middleware } from 'openapi-fetch';

/**
 * Checks answers of the API against its contract (`packages/contracts/openapi.json`): the status must
 * be one the operation declares, every required header present and well formed, and the body must
 * match the declared schema, with no property the contract lacks. Suites get it for free by calling
 * the API through `contractFetch()` or a client with `contractMiddleware()`: drift between code and
 * contract then fails the test that saw it.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** One answer as a client saw it. */
export interface ObservedResponse {
  method: string;
  /** The concrete path, query allowed: `/v1/users/usr_01h…?fields=id`. */
  path: string;
  status: number;
  headers: Headers | Record<string, string | undefined>;
  /** The parsed JSON body; `undefined` when the body was empty; a string when it was not JSON. */
  body?: unknown;
  /** Request headers, when known (`Accept` may choose the version of an unversioned path). */
  requestHeaders?: Headers;
}

export class ContractViolation extends Error {
  readonly violations: string[];

  constructor(response: ObservedResponse, violations: string[]) {
    super(
      `${response.method} ${response.path} → ${response.status} breaks the API contract:\n` +
        violations.map((violation) => `  - ${violation}`).join('\n'),
    );
    this.name = 'ContractViolation';
    this.violations = violations;
  }
}

interface Route {
  template: string;
  pattern: RegExp;
  parameters: number;
  item: JsonObject;
}

/** Paths the gateway serves beside the API itself: the contract does not describe them. */
const outsideTheApi = [/^\/openapi\.json$/, /^\/docs(\/.*)?$/, /^\/metrics$/];
const methods = ['get', 'put', 'post', 'patch', 'delete'];

export class Contract {
  readonly #document: JsonObject;
  readonly #routes: Route[];
  readonly #ajv: Ajv2020;
  readonly #validators = new Map<string, ValidateFunction>();

  constructor(document: object) {
    this.#document = closeObjects(structuredClone(document) as JsonObject);
    const paths = (this.#document.paths ?? {}) as Record<string, JsonObject>;
    this.#routes = Object.entries(paths)
      .map(([template, item]) => ({
        template,
        item,
        parameters: (template.match(/\{/g) ?? []).length,
        pattern: new RegExp(
          `^${template
            .split(/(\{[^}]+\})/)
            .map((part) => (part.startsWith('{') ? '[^/]+' : part.replace(/[.*+?^$()|[\]\\]/g, '\\$&')))
            .join('')}$`,
        ),
      }))
      // A fixed segment wins over a parameter: `/users/me` before `/users/{id}`.
      .sort((a, b) => a.parameters - b.parameters || b.template.length - a.template.length);
    this.#ajv = new Ajv2020({ strict: false, allErrors: true });
    formats.default(this.#ajv);
    this.#ajv.addSchema(this.#document, 'openapi.json');
  }

  /** The path template and operation that a concrete path and method fall under. */
  match(method: string, path: string, requestHeaders?: Headers) {
    const [pathname, query = ''] = path.split('?');
    let route = this.#routes.find((candidate) => candidate.pattern.test(pathname));
    if (!route && !/^\/v\d+\//.test(pathname)) {
      // Unversioned paths take their version from `?version=` or `Accept`, v1 by default.
      const version =
        new URLSearchParams(query).get('version') ??
        /version\s*=\s*"?(\d+)/.exec(requestHeaders?.get('accept') ?? '')?.[1] ??
        '1';
      const versioned = `/v${version}${pathname}`;
      route = this.#routes.find((candidate) => candidate.pattern.test(versioned));
    }
    if (!route) return undefined;
    const key = method.toLowerCase() === 'head' ? 'get' : method.toLowerCase();
    const operation = methods.includes(key) ? (route.item[key] as JsonObject | undefined) : undefined;
    return { template: route.template, method: key, operation };
  }

  /** What is wrong with an answer; empty when it keeps the contract. */
  violations(response: ObservedResponse): string[] {
    const pathname = response.path.split('?')[0];
    if (response.method.toUpperCase() === 'OPTIONS') return [];
    const found = this.match(response.method, response.path, response.requestHeaders);
    if (!found) {
      if (outsideTheApi.some((pattern) => pattern.test(pathname))) return [];
      if (response.status >= 400) return this.#envelope(response);
      return [`${response.method} ${pathname} is not in the contract`];
    }
    if (!found.operation) {
      // A method the path does not have: 405 with Allow, or an earlier refusal (401 at the edge).
      if (response.status < 400) return [`${response.method} ${found.template} is not in the contract`];
      const problems = this.#envelope(response);
      if (response.status === 405 && header(response.headers, 'allow') === undefined) {
        problems.push('405 without an Allow header');
      }
      return problems;
    }

    const responses = (found.operation.responses ?? {}) as JsonObject;
    const status = String(response.status);
    const key = [status, `${status[0]}XX`, 'default'].find((candidate) => candidate in responses);
    const operationId = String(found.operation.operationId);
    if (!key) {
      return [
        `${operationId} (${found.method.toUpperCase()} ${found.template}) answered ${status}, which the ` +
          `contract does not declare (declared: ${Object.keys(responses).join(', ')})`,
      ];
    }
    const pointer = `#/paths/${pointerSegment(found.template)}/${found.method}/responses/${pointerSegment(key)}`;
    const declared = this.#resolve(pointer);
    const problems: string[] = [];

    for (const name of Object.keys((declared.node.headers ?? {}) as JsonObject)) {
      const definition = this.#resolve(`${declared.pointer}/headers/${pointerSegment(name)}`);
      const value = header(response.headers, name);
      if (value === undefined) {
        if (definition.node.required === true) problems.push(`missing header ${name}`);
        continue;
      }
      if (typeof definition.node.schema !== 'object') continue;
      const validate = this.#validator(`${definition.pointer}/schema`);
      const schemaType = (definition.node.schema as JsonObject).type;
      const typed = schemaType === 'integer' && /^-?\d+$/.test(value) ? Number(value) : value;
      if (!validate(typed)) problems.push(...describe(validate.errors, `header ${name}`));
    }

    const content = declared.node.content as JsonObject | undefined;
    const isHead = response.method.toUpperCase() === 'HEAD';
    if (!content) {
      if (response.body !== undefined && response.body !== '')
        problems.push(`a body where ${status} declares none`);
      return problems;
    }
    if (isHead) return problems;
    if (response.body === undefined) return [...problems, `no body where ${status} declares one`];
    if (typeof response.body === 'string' && !('text/plain' in content)) {
      return [...problems, 'the body is not JSON'];
    }
    const mediaType = 'application/json' in content ? 'application/json' : Object.keys(content)[0];
    const validate = this.#validator(`${declared.pointer}/content/${pointerSegment(mediaType)}/schema`);
    if (!validate(response.body)) problems.push(...describe(validate.errors, 'body'));
    return problems;
  }

  /** Throws a `ContractViolation` listing every problem of the answer. */
  assert(response: ObservedResponse): void {
    const problems = this.violations(response);
    if (problems.length > 0) throw new ContractViolation(response, problems);
  }

  #envelope(response: ObservedResponse): string[] {
    const validate = this.#validator('#/components/schemas/ErrorEnvelope');
    return validate(response.body) ? [] : describe(validate.errors, 'error body');
  }

  /** Follows `$ref`s from a JSON pointer to the object it names, and where that object lives. */
  #resolve(pointer: string): { node: JsonObject; pointer: string } {
    let current = pointer;
    for (let hops = 0; hops < 10; hops++) {
      const node = lookup(this.#document, current);
      if (node === undefined || node === null || typeof node !== 'object' || Array.isArray(node)) {
        throw new Error(`The contract has nothing at ${current}`);
      }
      if (typeof node.$ref !== 'string') return { node, pointer: current };
      current = node.$ref;
    }
    throw new Error(`Too many references from ${pointer}`);
  }

  #validator(pointer: string): ValidateFunction {
    let validate = this.#validators.get(pointer);
    if (!validate) {
      // Within a URI fragment the pointer's segments are percent-encoded (`{id}` → `%7Bid%7D`).
      const fragment = pointer
        .split('/')
        .map((segment, index) => (index === 0 ? segment : encodeURIComponent(segment)))
        .join('/');
      validate = this.#ajv.compile({ $ref: `openapi.json${fragment}` });
      this.#validators.set(pointer, validate);
    }
    return validate;
  }
}

let defaultContract: Contract | undefined;

/** The project's contract, read once from the committed `packages/contracts/openapi.json`. */
export function projectContract(): Contract {
  defaultContract ??= new Contract(
    JSON.parse(
      readFileSync(createRequire(import.meta.url).resolve('@armature/contracts/openapi.json'), 'utf8'),
    ),
  );
  return defaultContract;
}

/** Reads a fetch answer (without consuming it) and checks it against the contract. */
export async function checkFetchResponse(
  request: Request,
  response: Response,
  contract: Contract = projectContract(),
): Promise<void> {
  const text = request.method === 'HEAD' ? '' : await response.clone().text();
  const isJson = /^application\/([\w.+-]+\+)?json/.test(response.headers.get('content-type') ?? '');
  let body: unknown;
  if (text !== '') {
    try {
      body = isJson ? JSON.parse(text) : text;
    } catch {
      body = text;
    }
  }
  const url = new URL(request.url);
  contract.assert({
    method: request.method,
    path: url.pathname + url.search,
    status: response.status,
    headers: response.headers,
    body,
    requestHeaders: request.headers,
  });
}

/**
 * A `fetch` that checks every answer against the contract and rejects with a `ContractViolation`
 * when one breaks it. Pass it to the client: `createClient(url, { fetch: contractFetch() })`.
 */
export function contractFetch(
  options: { contract?: Contract; fetch?: typeof globalThis.fetch } = {},
): (input: string | URL | Request, init?: RequestInit) => Promise<Response> {
  const base = options.fetch ?? globalThis.fetch;
  return async (input, init) => {
    const request = new Request(input, init);
    const response = await base(request.clone());
    await checkFetchResponse(request, response, options.contract);
    return response;
  };
}

/** The same check as openapi-fetch middleware: `createClient(url, { middleware: [contractMiddleware()] })`. */
export function contractMiddleware(contract?: Contract): Middleware {
  return {
    async onResponse({ request, response }) {
      await checkFetchResponse(request, response, contract);
      return undefined;
    },
  };
}

/**
 * Treats every object schema that lists its properties as closed (`additionalProperties: false`), so
 * a field the contract lacks is a failure even where a schema forgot to say so. Members of `allOf`
 * are left open: closing them would refuse the other members' properties.
 */
function closeObjects(node: JsonObject): JsonObject {
  const visit = (value: Json, inAllOf: boolean): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item, inAllOf);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const isObjectSchema =
      value.properties !== undefined &&
      typeof value.properties === 'object' &&
      (value.type === undefined || value.type === 'object');
    if (
      isObjectSchema &&
      !inAllOf &&
      value.additionalProperties === undefined &&
      value.unevaluatedProperties === undefined &&
      value.patternProperties === undefined
    ) {
      value.additionalProperties = false;
    }
    for (const [key, child] of Object.entries(value)) {
      if (key === 'examples' || key === 'example' || key === 'const' || key === 'enum' || key === 'default')
        continue;
      visit(child, key === 'allOf');
    }
  };
  visit(node, false);
  return node;
}

function describe(errors: ErrorObject[] | null | undefined, subject: string): string[] {
  return (errors ?? []).map((error) => {
    const where = `${subject}${error.instancePath}`;
    if (error.keyword === 'additionalProperties') {
      return `${where} has "${String(error.params.additionalProperty)}", which the contract does not declare`;
    }
    if (error.keyword === 'required') return `${where} lacks "${String(error.params.missingProperty)}"`;
    return `${where} ${error.message ?? 'is invalid'}`;
  });
}

function header(headers: ObservedResponse['headers'], name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

function pointerSegment(part: string): string {
  return part.replaceAll('~', '~0').replaceAll('/', '~1');
}

function lookup(document: JsonObject, pointer: string): Json | undefined {
  let node: Json | undefined = document;
  for (const raw of pointer.replace(/^#\/?/, '').split('/')) {
    if (raw === '') continue;
    const part = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
    node = node[part];
  }
  return node;
}
