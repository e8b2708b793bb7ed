/**
 * Names for the statements a process sends again and again, by SQL text. PostgreSQL parses, analyses
 * and plans an unnamed statement every time; a named one is parsed once per connection, and its plan
 * is cached (generic once it proves as good as a custom one). On the hot paths parsing and planning
 * cost as much as running the statement. A text is named the second time it is seen, so one-off
 * statements (migrations, ad-hoc queries) take no room on the server, and at most `limit` texts are
 * named per process, each kept by every connection that runs it.
 */
export class StatementNames {
  readonly #limit: number;
  readonly #names = new Map<string, string>();
  readonly #seen = new Set<string>();
  /** Changes every name after a statement's cached plan went stale (see `forget`). */
  #generation = 0;

  constructor(limit = 128) {
    this.#limit = limit;
  }

  nameFor(text: string): string | undefined {
    const name = this.#names.get(text);
    if (name !== undefined || this.#names.size >= this.#limit) return name;
    if (!this.#seen.has(text)) {
      if (this.#seen.size < this.#limit * 8) this.#seen.add(text);
      return undefined;
    }
    this.#seen.delete(text);
    const fresh = `a${this.#generation}_${this.#names.size}`;
    this.#names.set(text, fresh);
    return fresh;
  }

  /**
   * A migration changed a table under a prepared `select *` ("cached plan must not change result
   * type"): from now on every text is prepared afresh under a new name.
   */
  forget(): void {
    this.#names.clear();
    this.#seen.clear();
    this.#generation++;
  }
}

/** SQLSTATE of "cached plan must not change result type" (and of other unsupported features). */
export const STALE_PLAN = '0A000';
