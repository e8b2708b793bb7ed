import { readOrdersConfig, seedDemoProducts } from '@armature/orders';

/** `armature seed`: the demo catalog, into PostgreSQL (`ORDERS_DATABASE_URL`) or the embedded database. */
export async function seed(env: Record<string, string | undefined> = process.env): Promise<string> {
  const { total, created } = await seedDemoProducts(readOrdersConfig(env));
  return `orders: ${total} demo products (${created} added, ${total - created} already there)`;
}
