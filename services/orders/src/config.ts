import { ConfigError, readBool, readInt, readString } from '@armature/platform';
import { readServiceConfig, type ServiceConfig } from '@armature/platform/kit/index';

export interface OrdersConfig extends ServiceConfig {
  /** The users service instances; access tokens are verified with their JWKS (from any one that answers). */
  usersServiceUrls: string[];
  /** ISO 4217 currency every price is kept in. */
  currency: string;
  /** `ORDER_PAYMENT_TIMEOUT` (seconds): an order checked out with a payment method and not paid by then is cancelled. */
  paymentTimeoutSeconds: number;
  /** The call to the users service confirming a customer before checkout. */
  customerCheck: {
    timeoutMs: number;
    failureThreshold: number;
    halfOpenAfterMs: number;
    /** `CUSTOMER_CHECK_REMEMBER_MS`: how long the users service's "active" for a user and token stands. */
    rememberMs: number;
    /** `CHECKOUT_REQUIRES_VERIFIED_EMAIL`: refuse (403 `EMAIL_NOT_VERIFIED`) a customer with an unverified email. */
    requireVerifiedEmail: boolean;
  };
}

type Env = Record<string, string | undefined>;

export function readOrdersConfig(env: Env = process.env): OrdersConfig {
  const service = readServiceConfig('orders', env);
  return {
    ...service,
    usersServiceUrls: service.serviceUrls.users!,
    currency: readCurrency(env, 'ORDERS_CURRENCY', 'USD'),
    paymentTimeoutSeconds: readInt(env, 'ORDER_PAYMENT_TIMEOUT', 900, { min: 1, max: 7 * 86_400 }),
    customerCheck: {
      timeoutMs: readInt(env, 'CUSTOMER_CHECK_TIMEOUT_MS', 1000, { min: 10, max: 60_000 }),
      failureThreshold: readInt(env, 'CUSTOMER_CHECK_BREAKER_FAILURES', 5, { min: 1, max: 1000 }),
      halfOpenAfterMs: readInt(env, 'CUSTOMER_CHECK_BREAKER_HALF_OPEN_MS', 5000, { min: 100, max: 600_000 }),
      rememberMs: readInt(env, 'CUSTOMER_CHECK_REMEMBER_MS', 1000, { min: 0, max: 60_000 }),
      requireVerifiedEmail: readBool(env, 'CHECKOUT_REQUIRES_VERIFIED_EMAIL', false),
    },
  };
}

function readCurrency(env: Env, name: string, fallback: string): string {
  const value = readString(env, name, fallback).toUpperCase();
  if (!Intl.supportedValuesOf('currency').includes(value)) {
    throw new ConfigError(name, `must be an ISO 4217 currency code, got "${value}"`);
  }
  return value;
}
