import { readGatewayConfig, startGateway } from '@armature/gateway';
import { readOrdersConfig, startOrdersService } from '@armature/orders';
import type { StartedService } from '@armature/platform';
import { readUsersConfig, startUsersService } from '@armature/users';

export interface EmbeddedSystem {
  gateway: StartedService;
  users: StartedService;
  orders: StartedService;
  close(): Promise<void>;
}

type Env = Record<string, string | undefined>;

/**
 * The whole system in one process: each service on its own loopback port (free ports unless
 * `USERS_PORT`/`ORDERS_PORT` are set), the gateway in front. The services talk over real HTTP exactly
 * as they do when scaled out; only the adapters behind them (PGlite, in-process cache and bus) differ.
 */
export async function startEmbedded(env: Env = process.env): Promise<EmbeddedSystem> {
  const internal: Env = { ...env, USERS_PORT: env.USERS_PORT ?? '0', ORDERS_PORT: env.ORDERS_PORT ?? '0' };
  // Read every configuration first, so a bad value stops the start before anything listens.
  const placeholder = 'http://127.0.0.1:1';
  readUsersConfig(internal);
  readOrdersConfig({ USERS_SERVICE_URLS: placeholder, ...internal });
  readGatewayConfig({ USERS_SERVICE_URLS: placeholder, ORDERS_SERVICE_URLS: placeholder, ...internal });
  const users = await startUsersService(readUsersConfig(internal));
  const withUsers = { ...internal, USERS_SERVICE_URLS: env.USERS_SERVICE_URLS ?? users.url };
  let orders: StartedService | undefined;
  try {
    orders = await startOrdersService(readOrdersConfig(withUsers));
    const gateway = await startGateway(
      readGatewayConfig({ ...withUsers, ORDERS_SERVICE_URLS: env.ORDERS_SERVICE_URLS ?? orders.url }),
    );
    const started = orders;
    return {
      gateway,
      users,
      orders: started,
      async close() {
        await gateway.close();
        await Promise.all([started.close(), users.close()]);
      },
    };
  } catch (error) {
    await orders?.close();
    await users.close();
    throw error;
  }
}
