import type { HandleOutcome } from './consumer.ts';
import type { DeadLetterStore, StoredDeadLetter } from './dead-letters.ts';
import { newestFirst } from './dead-letters.ts';
import type { EventEnvelope } from './envelope.ts';
import type { EventLog } from './log.ts';
import type { Delivery } from './transport.ts';

/** A consumer as the admin operations see it: its name and its idempotent handler. */
export interface ReplayableConsumer {
  name: string;
  handle(event: EventEnvelope, delivery: Delivery): Promise<HandleOutcome>;
}

export class DeadLetterNotFound extends Error {
  constructor(id: string) {
    super(`no dead letter ${id}`);
    this.name = 'DeadLetterNotFound';
  }
}

/** A replay whose handler failed again: the dead letter stays, with this error. */
export class ReplayFailed extends Error {
  readonly deadLetter: StoredDeadLetter;
  constructor(deadLetter: StoredDeadLetter) {
    super(deadLetter.error);
    this.name = 'ReplayFailed';
    this.deadLetter = deadLetter;
  }
}

export interface ReplayResult {
  deadLetter: StoredDeadLetter;
  outcome: HandleOutcome;
  at: Date;
}

/**
 * What an admin may do with a service's dead letters: list them, replay one (its consumer handles it
 * once more, in one transaction with its inbox, so the effect happens once however often it is
 * replayed) or discard one. Every replay and discard is written to the log as an audit record naming
 * the admin.
 */
export class DeadLetterAdmin {
  readonly #store: DeadLetterStore | undefined;
  readonly #consumers: Map<string, ReplayableConsumer>;
  readonly #log: EventLog;
  /** Replays in flight, by id: a second request for the same one waits for the first. */
  readonly #replaying = new Map<string, Promise<ReplayResult>>();

  constructor(options: { store?: DeadLetterStore; consumers: ReplayableConsumer[]; log: EventLog }) {
    this.#store = options.store;
    this.#consumers = new Map(options.consumers.map((consumer) => [consumer.name, consumer]));
    this.#log = options.log;
  }

  async list(): Promise<StoredDeadLetter[]> {
    if (!this.#store || this.#consumers.size === 0) return [];
    return newestFirst(await this.#store.list([...this.#consumers.keys()]));
  }

  async get(id: string): Promise<StoredDeadLetter> {
    const found = (await this.list()).find((deadLetter) => deadLetter.id === id);
    if (!found) throw new DeadLetterNotFound(id);
    return found;
  }

  async discard(id: string, actor: string): Promise<void> {
    const deadLetter = await this.get(id);
    if (!(await this.#store!.remove(deadLetter))) throw new DeadLetterNotFound(id);
    this.#log.info(
      { audit: true, action: 'dead-letter.discard', actor, deadLetterId: id, eventId: deadLetter.event?.id },
      'dead letter discarded',
    );
  }

  replay(id: string, actor: string): Promise<ReplayResult> {
    const running = this.#replaying.get(id);
    if (running) return running.then(() => Promise.reject(new DeadLetterNotFound(id)));
    const replay = this.#replay(id, actor).finally(() => this.#replaying.delete(id));
    this.#replaying.set(id, replay);
    return replay;
  }

  async #replay(id: string, actor: string): Promise<ReplayResult> {
    const deadLetter = await this.get(id);
    const consumer = this.#consumers.get(deadLetter.consumer)!;
    const audit = { audit: true, action: 'dead-letter.replay', actor, deadLetterId: id };
    const attempts = deadLetter.attempts + 1;
    let outcome: HandleOutcome;
    try {
      if (!deadLetter.event) throw new Error('the message could not be read as an event');
      outcome = await consumer.handle(deadLetter.event, { attempt: attempts });
    } catch (error) {
      const message = (error instanceof Error ? error.message : String(error)).slice(0, 1000);
      await this.#store!.update(deadLetter, { attempts, error: message });
      this.#log.warn({ ...audit, err: error, outcome: 'failed' }, 'dead letter replay failed');
      throw new ReplayFailed({ ...deadLetter, attempts, error: message });
    }
    await this.#store!.remove(deadLetter);
    this.#log.info({ ...audit, eventId: deadLetter.event.id, outcome }, 'dead letter replayed');
    return { deadLetter, outcome, at: new Date() };
  }
}
