import type { IdempotencyKeysTable, InboxTable, OutboxTable } from '@armature/platform';
import type { MailOutboxTable } from '@armature/platform/mail/index';
import type { ColumnType, Generated, Insertable, JSONColumnType, Selectable } from 'kysely';

/** Kysely types of the users database, kept in step with `migrations/`. */

/** A timestamptz column: read as a Date, written as a Date or an ISO string. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type DefaultedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export type Role = 'member' | 'admin';

export interface UsersTable {
  id: string;
  email: string;
  email_verified_at: Timestamp | null;
  password_hash: string;
  name: string;
  role: ColumnType<Role, Role | undefined, Role>;
  version: Generated<number>;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
  deleted_at: Timestamp | null;
}

/** The `active_users` view: users whose `deleted_at` is null. */
export interface ActiveUsersView {
  id: string;
  email: string;
  email_verified_at: Date | null;
  password_hash: string;
  name: string;
  role: Role;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export type RevokedReason =
  | 'logout'
  | 'reuse'
  | 'user_deleted'
  | 'ended'
  | 'password_changed'
  | 'password_reset';

export interface SessionsTable {
  jti: string;
  user_id: string;
  family_id: string;
  token_hash: string;
  expires_at: Timestamp;
  created_at: DefaultedTimestamp;
  rotated_at: Timestamp | null;
  replaced_by: string | null;
  revoked_at: Timestamp | null;
  revoked_reason: RevokedReason | null;
  /** Migration 0003: the client that logged in, copied to each refreshed token. */
  user_agent: ColumnType<string | null, string | null | undefined, string | null>;
  address: ColumnType<string | null, string | null | undefined, string | null>;
}

export type AccountTokenPurpose = 'password_reset' | 'email_verification';

/** Migration 0003: tokens of password-reset and verification links (hashed). */
export interface AccountTokensTable {
  token_hash: string;
  purpose: AccountTokenPurpose;
  user_id: string;
  email: string;
  expires_at: Timestamp;
  used_at: Timestamp | null;
  created_at: DefaultedTimestamp;
}

export interface SigningKeysTable {
  kid: string;
  algorithm: ColumnType<'EdDSA', 'EdDSA' | undefined, 'EdDSA'>;
  public_jwk: JSONColumnType<Record<string, string>>;
  private_key: string;
  created_at: DefaultedTimestamp;
  retired_at: Timestamp | null;
}

/** Migration 0004: two-factor sign-in. */
export interface MfaFactorsTable {
  user_id: string;
  secret: string;
  confirmed_at: Timestamp | null;
  last_used_step: ColumnType<number, number | undefined, number>;
  created_at: DefaultedTimestamp;
}

export interface MfaRecoveryCodesTable {
  code_hash: string;
  user_id: string;
  used_at: Timestamp | null;
}

export interface MfaChallengesTable {
  token_hash: string;
  user_id: string;
  expires_at: Timestamp;
  failures: ColumnType<number, number | undefined, number>;
  used_at: Timestamp | null;
  user_agent: string | null;
  address: string | null;
  created_at: DefaultedTimestamp;
}

export interface UsersDatabase {
  /** Domain events (migration 0010, from the platform): written here, published by the relay. */
  outbox: OutboxTable;
  inbox: InboxTable;
  users: UsersTable;
  active_users: ActiveUsersView;
  sessions: SessionsTable;
  signing_keys: SigningKeysTable;
  idempotency_keys: IdempotencyKeysTable;
  account_tokens: AccountTokensTable;
  /** Mail waiting for delivery (migration 0003); delivered by the platform's mail relay. */
  mail_outbox: MailOutboxTable;
  mfa_factors: MfaFactorsTable;
  mfa_recovery_codes: MfaRecoveryCodesTable;
  mfa_challenges: MfaChallengesTable;
  /** Migration 0005. */
  api_keys: ApiKeysTable;
}

export interface ApiKeysTable {
  id: string;
  user_id: string;
  name: string;
  prefix: string;
  key_hash: string;
  previous_hash: string | null;
  previous_expires_at: Timestamp | null;
  scopes: string[];
  plan: string;
  expires_at: Timestamp | null;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
}

export type UserRecord = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type SessionRecord = Selectable<SessionsTable>;
export type SigningKeyRecord = Selectable<SigningKeysTable>;
