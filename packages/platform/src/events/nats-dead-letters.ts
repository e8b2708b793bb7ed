import { headers } from '@nats-io/transport-node';
import { type DeadLetterStore, deadLetterId, type StoredDeadLetter } from './dead-letters.ts';
import { decodeEvent, type EventEnvelope } from './envelope.ts';
import type { NatsTransport } from './nats-transport.ts';
import { deadLetterSubject, TransportUnavailableError } from './transport.ts';

interface NatsDeadLetter extends StoredDeadLetter {
  seq: number;
  subject: string;
  data: Uint8Array;
}

/** Dead letters kept in the stream: read with an ordered consumer, forgotten by deleting the message. */
export function natsDeadLetterStore(transport: NatsTransport): DeadLetterStore {
  const handles = () => {
    const found = transport.handles();
    if (!found) throw new TransportUnavailableError('not connected to NATS');
    return found;
  };

  return {
    async list(consumers) {
      const { js } = handles();
      await transport.ensureStream();
      const found: StoredDeadLetter[] = [];
      for (const consumer of consumers) {
        const subject = deadLetterSubject(transport.prefix, consumer, '>');
        // One subject as a string: servers before 2.10 take no list of filters.
        const reader = await js.consumers.get(transport.stream, { filter_subjects: subject });
        const pending = (await reader.info()).num_pending;
        if (pending === 0) {
          await reader.delete().catch(() => {});
          continue;
        }
        const messages = await reader.fetch({ max_messages: pending, expires: 5000 });
        let read = 0;
        for await (const msg of messages) {
          read++;
          let event: EventEnvelope | undefined;
          try {
            event = decodeEvent(msg.data);
          } catch {
            event = undefined;
          }
          const record: NatsDeadLetter = {
            id: deadLetterId(consumer, event?.id ?? `seq-${msg.seq}`),
            consumer,
            event,
            raw: event ? undefined : new TextDecoder().decode(msg.data).slice(0, 1000),
            attempts: Number(msg.headers?.get('Armature-Attempts') || 0),
            error: msg.headers?.get('Armature-Error') ?? '',
            at: new Date(Math.floor(msg.info.timestampNanos / 1e6)),
            seq: msg.seq,
            subject: msg.subject,
            data: msg.data,
          };
          found.push(record);
          if (read >= pending) break;
        }
        await reader.delete().catch(() => {});
      }
      return found;
    },

    async remove(deadLetter) {
      const { jsm } = handles();
      return jsm.streams
        .deleteMessage(transport.stream, (deadLetter as NatsDeadLetter).seq)
        .catch(() => false);
    },

    async update(deadLetter, change) {
      const { js, jsm } = handles();
      const stored = deadLetter as NatsDeadLetter;
      const h = headers();
      h.set('Armature-Consumer', stored.consumer);
      h.set('Armature-Attempts', String(change.attempts));
      h.set('Armature-Error', change.error.slice(0, 500).replace(/[\r\n]+/g, ' '));
      await js.publish(stored.subject, stored.data, {
        headers: h,
        msgID: `${stored.id}.replay.${change.attempts}.${Date.now()}`,
      });
      await jsm.streams.deleteMessage(transport.stream, stored.seq).catch(() => false);
    },
  };
}
