import { asksForPaymentStep } from '@armature/payments/events/handled/orders';
import type { Answer, Ledger } from './load.ts';

/**
 * The invariants a chaos run checks once every fault is healed and every backlog drained. Each is a
 * pure function of what the system holds (a snapshot of its databases and the provider's record) and
 * what it acknowledged (the load's ledger), so each can be shown failing on crafted data.
 */

export interface OutboxEvent {
  id: string;
  type: string;
  aggregateId: string;
  // biome-ignore lint/suspicious/noExplicitAny: event data, read field by field
  data: any;
  published: boolean;
}

export interface Snapshot {
  users: { id: string; email: string; name: string; version: number; deleted: boolean }[];
  customers: { id: string; email: string | null; name: string | null; status: string; version: number }[];
  products: { id: string; stock: number }[];
  orders: {
    id: string;
    userId: string;
    status: string;
    total: number;
    paymentMethod: string | null;
    paymentStatus: string | null;
  }[];
  orderItems: { orderId: string; productId: string; quantity: number }[];
  cartItems: { userId: string; productId: string; quantity: number }[];
  payments: {
    id: string;
    orderId: string;
    amount: number;
    method: string;
    status: string;
    refunded: number;
    orderPaid: boolean;
    orderCancelled: boolean;
  }[];
  /** The provider's record of every payment intent. */
  intents: {
    id: string;
    reference: string;
    amountCaptured: number;
    amountRefunded: number;
    captures: number;
    refunds: number;
  }[];
  outbox: Record<'users' | 'orders' | 'payments', OutboxEvent[]>;
  /** Event ids each durable consumer recorded as handled. */
  inbox: Record<string, string[]>;
}

export interface FaultWindow {
  from: number;
  to: number;
  /** What the fault hit (`gateway-1`, `postgres`, `orders-db`, …). */
  target?: string;
}

export interface Health {
  /** ms from the last heal to every gateway's `/health` answering `healthy`; undefined if never within the bound. */
  recoveredMs?: number;
  boundMs: number;
}

export interface Result {
  name: string;
  pass: boolean;
  numbers: string;
  problems: string[];
}

const shown = (problems: string[]) => problems.slice(0, 10);

/** Who consumes which publisher's events, under which durable name. */
export const consumers = [
  { consumer: 'orders', publisher: 'users', types: ['user.created', 'user.updated', 'user.deleted'] },
  {
    consumer: 'orders-payments',
    publisher: 'payments',
    types: ['payment.authorized', 'payment.captured', 'payment.failed', 'payment.voided', 'payment.refunded'],
  },
  {
    consumer: 'payments',
    publisher: 'orders',
    types: ['order.created', 'order.updated', 'order.cancelled'],
    // The service's own rule: the events it skips (a new order without a payment method) leave no inbox entry.
    relevant: asksForPaymentStep,
  },
] as const;

/** Whether `consumer` must have recorded `event` in its inbox once it is handled. */
function expectedInInbox(entry: (typeof consumers)[number], event: OutboxEvent): boolean {
  if (!(entry.types as readonly string[]).includes(event.type)) return false;
  return 'relevant' in entry ? entry.relevant(event) : true;
}

const lifecycle: Record<string, string[]> = {
  pending: ['paid', 'cancelled'],
  paid: ['shipped', 'cancelled'],
  shipped: ['delivered'],
  delivered: [],
  cancelled: [],
};

function reachable(from: string): Set<string> {
  const seen = new Set([from]);
  const queue = [from];
  while (queue.length > 0) {
    for (const next of lifecycle[queue.shift()!] ?? []) {
      if (seen.has(next)) continue;
      seen.add(next);
      queue.push(next);
    }
  }
  return seen;
}

/** 1. Every acknowledged write is still there as answered. */
export function acknowledgedWrites(snapshot: Snapshot, ledger: Ledger): Result {
  const problems: string[] = [];
  const users = new Map(snapshot.users.map((user) => [user.id, user]));
  for (const acked of ledger.users) {
    const user = users.get(acked.id);
    if (!user || user.deleted || user.email !== acked.email)
      problems.push(`user ${acked.id} (${acked.email}) missing or changed`);
  }
  const orders = new Map(snapshot.orders.map((order) => [order.id, order]));
  for (const acked of ledger.orders) {
    const order = orders.get(acked.id);
    if (!order) problems.push(`order ${acked.id} acknowledged but missing`);
    else if (
      order.total !== acked.total ||
      order.userId !== acked.userId ||
      (order.paymentMethod ?? undefined) !== acked.paymentMethod
    )
      problems.push(`order ${acked.id} differs from its acknowledgement`);
  }
  let statusChecks = 0;
  for (const change of ledger.statusChanges) {
    const order = orders.get(change.orderId);
    statusChecks++;
    if (!order || !reachable(change.status).has(order.status))
      problems.push(
        `order ${change.orderId} acknowledged ${change.status} but is ${order?.status ?? 'missing'}`,
      );
  }
  const carts = new Map<string, Record<string, number>>();
  for (const line of snapshot.cartItems)
    (carts.get(line.userId) ?? carts.set(line.userId, {}).get(line.userId)!)[line.productId] = line.quantity;
  const cartUsers = Object.keys(ledger.carts);
  for (const userId of cartUsers) {
    const expected = ledger.carts[userId]!;
    const actual = carts.get(userId) ?? {};
    const same =
      Object.keys(expected).length === Object.keys(actual).length &&
      Object.entries(expected).every(([product, quantity]) => actual[product] === quantity);
    if (!same)
      problems.push(
        `cart of ${userId} is ${JSON.stringify(actual)}, acknowledged ${JSON.stringify(expected)}`,
      );
  }
  return {
    name: '1. acknowledged writes survive',
    pass: problems.length === 0,
    numbers: `${ledger.users.length} users, ${ledger.orders.length} orders, ${statusChecks} status changes, ${cartUsers.length} carts checked; ${problems.length} missing or changed`,
    problems: shown(problems),
  };
}

/** 2. Stock + units in orders not cancelled = initial stock + restocks, for every product. */
export function stockConserved(snapshot: Snapshot, ledger: Ledger): Result {
  const problems: string[] = [];
  const cancelled = new Set(
    snapshot.orders.filter((order) => order.status === 'cancelled').map((order) => order.id),
  );
  const sold = new Map<string, number>();
  for (const item of snapshot.orderItems) {
    if (!cancelled.has(item.orderId))
      sold.set(item.productId, (sold.get(item.productId) ?? 0) + item.quantity);
  }
  let units = 0;
  const products = Object.keys(ledger.initialStock);
  for (const id of products) {
    const product = snapshot.products.find((candidate) => candidate.id === id);
    const expected = ledger.initialStock[id]! + (ledger.restocks[id] ?? 0);
    const actual = (product?.stock ?? Number.NaN) + (sold.get(id) ?? 0);
    units += sold.get(id) ?? 0;
    if (actual !== expected)
      problems.push(`${id}: stock ${product?.stock} + ${sold.get(id) ?? 0} in orders ≠ ${expected}`);
  }
  const restocked = Object.values(ledger.restocks).reduce((a, b) => a + b, 0);
  return {
    name: '2. stock is conserved',
    pass: problems.length === 0,
    numbers: `${products.length} products, ${units} units in live orders, ${restocked} restocked; ${problems.length} off`,
    problems: shown(problems),
  };
}

/** 3. Orders follow their lifecycle; captured − refunded = paid totals; nothing charged twice. */
export function ordersAndMoney(snapshot: Snapshot): Result {
  const problems: string[] = [];
  const history = new Map<string, OutboxEvent[]>();
  for (const event of snapshot.outbox.orders)
    (history.get(event.aggregateId) ?? history.set(event.aggregateId, []).get(event.aggregateId)!).push(
      event,
    );
  for (const order of snapshot.orders) {
    const events = history.get(order.id) ?? [];
    let status: string | undefined;
    for (const event of events) {
      if (event.type === 'order.created') {
        if (status !== undefined) problems.push(`${order.id}: created twice`);
        status = 'pending';
        continue;
      }
      const next = event.type === 'order.cancelled' ? 'cancelled' : event.data.status;
      if (status === undefined || event.data.previousStatus !== status || !lifecycle[status]?.includes(next))
        problems.push(`${order.id}: ${status} → ${next} (from ${event.data.previousStatus})`);
      status = next;
    }
    if (status !== order.status) problems.push(`${order.id}: is ${order.status}, its history says ${status}`);
  }
  const settled = new Set(['paid', 'shipped', 'delivered']);
  const paidTotals = snapshot.orders
    .filter((order) => order.paymentMethod && settled.has(order.status))
    .reduce((sum, order) => sum + order.total, 0);
  const captured = snapshot.payments
    .filter((payment) => payment.status === 'captured' || payment.status === 'refunded')
    .reduce((sum, payment) => sum + payment.amount, 0);
  const refunded = snapshot.payments.reduce((sum, payment) => sum + payment.refunded, 0);
  if (captured - refunded !== paidTotals)
    problems.push(`captured ${captured} − refunded ${refunded} ≠ paid orders' totals ${paidTotals}`);
  const providerNet = snapshot.intents.reduce(
    (sum, intent) => sum + intent.amountCaptured - intent.amountRefunded,
    0,
  );
  if (providerNet !== paidTotals)
    problems.push(`the provider holds ${providerNet}, paid orders' totals are ${paidTotals}`);
  const perReference = new Map<string, number>();
  for (const intent of snapshot.intents) {
    if (intent.captures > 1 || intent.refunds > 1)
      problems.push(`intent ${intent.id}: ${intent.captures} captures, ${intent.refunds} refunds`);
    if (intent.captures > 0)
      perReference.set(intent.reference, (perReference.get(intent.reference) ?? 0) + 1);
  }
  for (const [reference, count] of perReference)
    if (count > 1) problems.push(`${reference} captured by ${count} intents`);
  const perOrder = new Map<string, number>();
  for (const payment of snapshot.payments)
    perOrder.set(payment.orderId, (perOrder.get(payment.orderId) ?? 0) + 1);
  for (const [orderId, count] of perOrder) if (count > 1) problems.push(`${orderId} has ${count} payments`);
  const withMethod = snapshot.orders.filter((order) => order.paymentMethod);
  return {
    name: '3. lifecycle and money',
    pass: problems.length === 0,
    numbers: `${snapshot.orders.length} orders (${withMethod.length} paid by card); captured ${captured} − refunded ${refunded} = ${captured - refunded}, paid totals ${paidTotals}, provider ${providerNet}; ${snapshot.intents.length} intents, max captures per intent ${Math.max(0, ...snapshot.intents.map((i) => i.captures))}`,
    problems: shown(problems),
  };
}

/** Published events of a type a consumer handles that are not (yet) in its inbox. */
export function unhandledEvents(snapshot: Pick<Snapshot, 'outbox' | 'inbox'>): number {
  let missing = 0;
  for (const entry of consumers) {
    const handled = new Set(snapshot.inbox[entry.consumer] ?? []);
    for (const event of snapshot.outbox[entry.publisher]) {
      if (expectedInInbox(entry, event) && !handled.has(event.id)) missing++;
    }
  }
  return missing;
}

/** 4. Every outbox event published; every consumer applied each event exactly once in effect. */
export function eventsDelivered(snapshot: Snapshot): Result {
  const problems: string[] = [];
  let events = 0;
  let unpublished = 0;
  for (const [service, outbox] of Object.entries(snapshot.outbox)) {
    events += outbox.length;
    const left = outbox.filter((event) => !event.published).length;
    unpublished += left;
    if (left > 0) problems.push(`${service}: ${left} events never published`);
  }
  let missing = 0;
  for (const entry of consumers) {
    const handled = new Set(snapshot.inbox[entry.consumer] ?? []);
    for (const event of snapshot.outbox[entry.publisher]) {
      if (expectedInInbox(entry, event) && !handled.has(event.id)) {
        missing++;
        problems.push(`${entry.consumer} never handled ${event.type} ${event.id}`);
      }
    }
  }
  // The customers projection equals replaying the users' outbox.
  const expected = new Map<
    string,
    { email: string | null; name: string | null; status: string; version: number }
  >();
  for (const event of snapshot.outbox.users) {
    const id = event.data.userId as string;
    const known = expected.get(id);
    if (known && known.version >= event.data.version) continue;
    if (event.type === 'user.deleted')
      expected.set(id, {
        email: known?.email ?? null,
        name: known?.name ?? null,
        status: 'deleted',
        version: event.data.version,
      });
    else
      expected.set(id, {
        email: event.data.email ?? known?.email,
        name: event.data.name ?? known?.name,
        status: 'active',
        version: event.data.version,
      });
  }
  const customers = new Map(snapshot.customers.map((customer) => [customer.id, customer]));
  let projectionOff = 0;
  for (const [id, want] of expected) {
    const got = customers.get(id);
    if (
      !got ||
      got.status !== want.status ||
      got.version !== want.version ||
      (want.status === 'active' && (got.email !== want.email || got.name !== want.name))
    ) {
      projectionOff++;
      problems.push(`customer ${id}: ${JSON.stringify(got)} ≠ replay ${JSON.stringify(want)}`);
    }
  }
  if (customers.size !== expected.size) {
    projectionOff++;
    problems.push(`${customers.size} customers, the users' outbox replays to ${expected.size}`);
  }
  // Payments equal replaying the orders' outbox: one per order checked out with a method, its amount
  // and what the order asked of it.
  const payments = new Map(snapshot.payments.map((payment) => [payment.orderId, payment]));
  const asked = new Map<string, { amount: number; method: string; paid: boolean; cancelled: boolean }>();
  for (const event of snapshot.outbox.orders) {
    const orderId = event.data.orderId as string;
    if (event.type === 'order.created' && event.data.paymentMethod)
      asked.set(orderId, {
        amount: event.data.total.amount,
        method: event.data.paymentMethod,
        paid: false,
        cancelled: false,
      });
    const want = asked.get(orderId);
    if (!want) continue;
    if (event.type === 'order.updated' && event.data.status === 'paid') want.paid = true;
    if (event.type === 'order.cancelled') want.cancelled = true;
  }
  for (const [orderId, want] of asked) {
    const got = payments.get(orderId);
    if (
      !got ||
      got.amount !== want.amount ||
      got.method !== want.method ||
      got.orderPaid !== want.paid ||
      got.orderCancelled !== want.cancelled
    ) {
      projectionOff++;
      problems.push(`payment of ${orderId}: ${JSON.stringify(got)} ≠ replay ${JSON.stringify(want)}`);
    }
  }
  if (snapshot.payments.length !== asked.size) {
    projectionOff++;
    problems.push(`${snapshot.payments.length} payments, the orders' outbox asks for ${asked.size}`);
  }
  // The orders' view of each payment equals replaying the payments' outbox through the same guards.
  const moves: Record<string, [string[], string]> = {
    'payment.authorized': [['pending'], 'authorized'],
    'payment.captured': [['authorized'], 'captured'],
    'payment.failed': [['pending'], 'failed'],
    'payment.voided': [['pending', 'authorized'], 'voided'],
    'payment.refunded': [['authorized', 'captured'], 'refunded'],
  };
  const paymentStatus = new Map<string, string>();
  for (const event of snapshot.outbox.payments) {
    const orderId = event.data.orderId as string;
    const move = moves[event.type];
    if (!move) continue;
    const now = paymentStatus.get(orderId) ?? 'pending';
    if (move[0].includes(now)) paymentStatus.set(orderId, move[1]);
  }
  for (const order of snapshot.orders) {
    if (!order.paymentMethod) continue;
    const want = paymentStatus.get(order.id) ?? 'pending';
    if (order.paymentStatus !== want) {
      projectionOff++;
      problems.push(`order ${order.id}: payment ${order.paymentStatus} ≠ replay ${want}`);
    }
  }
  return {
    name: '4. events published and applied once',
    pass: problems.length === 0,
    numbers: `${events} events, ${unpublished} unpublished, ${missing} not handled; projections: ${expected.size} customers, ${asked.size} payments, ${paymentStatus.size} order payment states, ${projectionOff} off`,
    problems: shown(problems),
  };
}

/** 5. No idempotency key produced two different results. */
export function idempotencyHeld(ledger: Ledger): Result {
  const problems: string[] = [];
  let replayed = 0;
  for (const [key, results] of Object.entries(ledger.idempotency)) {
    if (results.length > 1) replayed++;
    if (new Set(results).size > 1) problems.push(`key ${key} answered ${[...new Set(results)].join(', ')}`);
  }
  return {
    name: '5. idempotency keys',
    pass: problems.length === 0,
    numbers: `${Object.keys(ledger.idempotency).length} keys acknowledged, ${replayed} answered more than once; ${problems.length} with two results`,
    problems: shown(problems),
  };
}

/**
 * 6. Nothing answered 500; any other 5xx only while a fault was on (plus a grace for the system to
 * notice the heal), as 502/503/504 with the envelope; no answer at all only from a gateway killed
 * while the request was on it (a live gateway always answers, 504 at worst); `/health` healthy again
 * within the bound.
 */
export function answersAndHealth(answers: Answer[], windows: FaultWindow[], health: Health): Result {
  const problems: string[] = [];
  const during = (at: number) => windows.some((window) => at >= window.from && at <= window.to);
  let fiveHundreds = 0;
  let outside = 0;
  let noEnvelope = 0;
  let faulty = 0;
  let unanswered = 0;
  for (const answer of answers) {
    if (answer.status === 500) {
      fiveHundreds++;
      problems.push(`500 on ${answer.op} at ${(answer.at / 1000).toFixed(1)} s (${answer.code})`);
      continue;
    }
    if (answer.status !== 0 && answer.status < 500) continue;
    faulty++;
    if (answer.status === 0) {
      const sent = answer.sentAt ?? answer.at;
      const gatewayDown = windows.some(
        (window) => window.target === answer.gateway && window.from <= answer.at && window.to >= sent,
      );
      if (!gatewayDown) {
        unanswered++;
        problems.push(
          `no answer (${answer.code}) from ${answer.gateway} to ${answer.op} sent at ${(sent / 1000).toFixed(1)} s; that gateway was up`,
        );
      }
      continue;
    }
    if (![502, 503, 504].includes(answer.status)) problems.push(`${answer.status} on ${answer.op}`);
    if (!answer.envelope) {
      noEnvelope++;
      problems.push(`${answer.status} without the envelope on ${answer.op}`);
    }
    if (!during(answer.at)) {
      outside++;
      problems.push(
        `${answer.status} on ${answer.op} at ${(answer.at / 1000).toFixed(1)} s, outside any fault`,
      );
    }
  }
  const recovered = health.recoveredMs !== undefined && health.recoveredMs <= health.boundMs;
  if (!recovered) problems.push(`/health not healthy within ${health.boundMs / 1000} s of the last heal`);
  return {
    name: '6. no 500; 5xx only in faults; health back',
    pass: problems.length === 0,
    numbers: `${answers.length} answers, ${fiveHundreds} × 500, ${faulty} 5xx or unanswered (${outside} outside faults, ${noEnvelope} without envelope, ${unanswered} unanswered by a live gateway); healthy ${health.recoveredMs === undefined ? 'never' : `${(health.recoveredMs / 1000).toFixed(1)} s`} after the last heal (bound ${health.boundMs / 1000} s)`,
    problems: shown(problems),
  };
}

export function checkAll(
  snapshot: Snapshot,
  ledger: Ledger,
  windows: FaultWindow[],
  health: Health,
): Result[] {
  return [
    acknowledgedWrites(snapshot, ledger),
    stockConserved(snapshot, ledger),
    ordersAndMoney(snapshot),
    eventsDelivered(snapshot),
    idempotencyHeld(ledger),
    answersAndHealth(ledger.answers, windows, health),
  ];
}

export function table(results: Result[]): string {
  const lines = ['| invariant | result | numbers |', '|---|---|---|'];
  for (const result of results)
    lines.push(`| ${result.name} | ${result.pass ? 'pass' : 'FAIL'} | ${result.numbers} |`);
  return lines.join('\n');
}
