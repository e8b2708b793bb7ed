import type { EventEnvelope } from './envelope.ts';

/**
 * The dead letters a transport keeps, seen the same way in both modes: the in-process bus keeps
 * them in memory, JetStream in the stream under `<prefix>.dead.<consumer>.<type>`.
 */
export interface StoredDeadLetter {
  /** `<consumer>.<event id>` (`<consumer>.seq-<n>` for a message that could not be read). */
  id: string;
  consumer: string;
  /** The envelope as received; undefined when the message could not be read at all. */
  event: EventEnvelope | undefined;
  /** The raw message when it could not be read. */
  raw?: string;
  attempts: number;
  error: string;
  at: Date;
}

export interface DeadLetterStore {
  /** The dead letters of these consumers, in no particular order. */
  list(consumers: readonly string[]): Promise<StoredDeadLetter[]>;
  /** Forgets one; false when it was not there any more (another instance took it). */
  remove(deadLetter: StoredDeadLetter): Promise<boolean>;
  /** Keeps one with a new error and attempt count (a replay that failed). */
  update(deadLetter: StoredDeadLetter, change: { attempts: number; error: string }): Promise<void>;
}

export function deadLetterId(consumer: string, eventId: string): string {
  return `${consumer}.${eventId}`;
}

/** The newest of each id first (JetStream may hold an event twice after a failed replay). */
export function newestFirst(deadLetters: StoredDeadLetter[]): StoredDeadLetter[] {
  const byId = new Map<string, StoredDeadLetter>();
  for (const deadLetter of deadLetters) {
    const known = byId.get(deadLetter.id);
    if (!known || known.at <= deadLetter.at) byId.set(deadLetter.id, deadLetter);
  }
  return [...byId.values()].sort(
    (a, b) => b.at.getTime() - a.at.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}
