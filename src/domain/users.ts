import { randomUUID } from 'node:crypto';
import type { Collection, Store } from '../../adapters/store.js';
import { DuplicateKeyError } from '../../adapters/store.js';
import { AppError } from '../errors.js';
import { escapeRegExp } from './regexp.js';
import { checkUsername, foldIdentifier, identifierKey, identifierKeysOf } from './identifiers.js';

/** A person who signs in to a tenant. Never leaves the domain layer with its hash attached. */
export interface User {
  _id: string;
  tenant: string;
  /** stored canonical (see identifiers.ts: NFKC, case-folded); sign-in accepts it in any case */
  username: string;
  /** stored trimmed and lower case */
  email?: string;
  /**
   * Uniqueness keys of the username and e-mail address (identifiers.ts), unique per tenant across
   * all users and both fields; sign-in looks users up by them. Missing only on users stored before
   * keys existed, until `backfillIdentifierKeys` gives them theirs.
   */
  identifierKeys?: string[];
  emailVerified: boolean;
  phone?: string;
  phoneVerified: boolean;
  givenName?: string;
  familyName?: string;
  name?: string;
  passwordHash?: string;
  /** set by an admin with a password: the next sign-in must choose a new one before it finishes */
  passwordMustChange?: boolean;
  /**
   * made by sign-up where the tenant verifies e-mail first: no sign-in of this account finishes
   * until `email` is verified (`interactions/steps/verify-email.ts`); kept once it is
   */
  verifyEmailFirst?: boolean;
  disabled: boolean;
  /** names of the tenant's roles assigned to this user */
  roles?: string[];
  createdAt: Date;
  updatedAt: Date;
}

export type NewUser = Pick<User, 'username'> &
  Partial<Pick<User, 'email' | 'emailVerified' | 'phone' | 'phoneVerified' | 'givenName' | 'familyName' | 'name' | 'passwordHash' | 'passwordMustChange' | 'verifyEmailFirst' | 'disabled' | 'roles'>>;

/** Profile fields an admin may change (credentials, roles and `disabled` have their own methods). */
export type UserChanges = Partial<Pick<User, 'username' | 'email' | 'emailVerified' | 'phone' | 'phoneVerified' | 'givenName' | 'familyName' | 'name'>>;

/** Optional profile fields that an update may remove. */
export type RemovableUserField = 'email' | 'phone' | 'givenName' | 'familyName' | 'name';

/** What to list: a case-insensitive prefix of username, e-mail or phone (`q`), or exact values. */
export interface UserQuery {
  q?: string;
  username?: string;
  email?: string;
  phone?: string;
  /** cursor: the last `_id` of the previous page */
  after?: string;
  limit: number;
}

/** Shortest password a tenant accepts when its policy says nothing (NIST SP 800-63B asks for 8). */
export const DEFAULT_MIN_PASSWORD_LENGTH = 8;

/** The tenant's minimum password length, in characters (code points, as a person counts them). */
export function minPasswordLength(tenant: { securityPolicy?: { password?: { minLength?: number } } } | null): number {
  return tenant?.securityPolicy?.password?.minLength ?? DEFAULT_MIN_PASSWORD_LENGTH;
}

/** Characters of a password as a person counts them (an emoji is one, not two UTF-16 units). */
export function passwordLength(password: string): number {
  return [...password].length;
}

function duplicate(error: unknown): never {
  if (error instanceof DuplicateKeyError) throw new AppError('conflict', 'a user with this username or e-mail address, or one that looks the same, already exists');
  throw error;
}

/** The folded form of a typed username (no profile check): for lookups and counters, not for storing. */
export function normaliseUsername(input: string): string {
  return foldIdentifier(input);
}

/** The canonical username to store; a username outside the profile is `invalid_request`. */
function canonicalUsername(input: string): string {
  const checked = checkUsername(input);
  if (!checked.ok) throw new AppError('invalid_request', `Invalid username: ${checked.problem}.`);
  return checked.username;
}

/** How an e-mail address is stored (and shown back): trimmed, lower case. */
export function normaliseEmail(input: string): string {
  return input.trim().toLowerCase();
}

/** A user stored under `identifierKeys` it could not get, because another user holds them. */
export interface IdentifierConflict {
  tenant: string;
  userId: string;
  /** which of the user's identifiers is held by someone else */
  field: 'username' | 'email';
  heldBy: string;
}

/** Something that keeps data of a user (second factors, ...) and forgets it when the user is deleted. */
export interface UserData {
  deleteUser(tenant: string, userId: string): Promise<unknown>;
}

export class UserRepository {
  readonly #users: Collection<User>;

  /** `dependents`: what else keeps data of a user, removed by {@link delete}. */
  constructor(
    store: Store,
    private readonly dependents: readonly UserData[] = [],
  ) {
    this.#users = store.collection<User>('users');
  }

  async findById(tenant: string, id: string): Promise<User | null> {
    return this.#users.findOne({ _id: id, tenant });
  }

  /**
   * Finds the user a typed username or e-mail address names: the one holding its key. Keys are
   * unique across both fields, so there is never a choice to make between two users.
   */
  async findByIdentifier(tenant: string, identifier: string): Promise<User | null> {
    const key = identifierKey(identifier);
    return key === null ? null : this.#users.findOne({ tenant, identifierKeys: key });
  }

  /** The users holding a phone number (E.164 as stored); two at most are read, to tell one from several. */
  async findByPhone(tenant: string, phone: string): Promise<User[]> {
    return this.#users.find({ tenant, phone }, { limit: 2 });
  }

  async create(tenant: string, input: NewUser, now = new Date()): Promise<User> {
    const username = canonicalUsername(input.username);
    const email = input.email ? normaliseEmail(input.email) : undefined;
    const user: User = {
      _id: randomUUID(),
      tenant,
      emailVerified: false,
      phoneVerified: false,
      disabled: false,
      ...input,
      username,
      ...(email ? { email } : {}),
      identifierKeys: identifierKeysOf(username, email),
      createdAt: now,
      updatedAt: now,
    };
    await this.#users.insertOne(user).catch(duplicate);
    return user;
  }

  /** One page of a tenant's users in `_id` order (stable while users are renamed or added). */
  async list(tenant: string, query: UserQuery): Promise<User[]> {
    const filter: Record<string, unknown> = { tenant };
    if (query.username !== undefined) filter['username'] = normaliseUsername(query.username);
    if (query.email !== undefined) filter['email'] = query.email.trim().toLowerCase();
    if (query.phone !== undefined) filter['phone'] = query.phone;
    if (query.q) {
      const prefix = new RegExp(`^${escapeRegExp(query.q.normalize('NFKC').trim())}`, 'i');
      filter['$or'] = [{ username: { $regex: prefix } }, { email: { $regex: prefix } }, { phone: { $regex: prefix } }];
    }
    if (query.after !== undefined) filter['_id'] = { $gt: query.after };
    return this.#users.find(filter, { sort: { _id: 1 }, limit: query.limit });
  }

  /**
   * Applies profile `changes` and removes the `unset` fields; a taken (or look-alike) username or
   * e-mail address is a `conflict`. Changing either recomputes the user's identifier keys from the
   * stored other one, with a write conditional on that value, retried if a parallel change moved it.
   */
  async update(tenant: string, id: string, changes: UserChanges, unset: RemovableUserField[] = [], now = new Date()): Promise<User | null> {
    const $set: Record<string, unknown> = { ...changes, updatedAt: now };
    if (changes.username !== undefined) $set['username'] = canonicalUsername(changes.username);
    if (changes.email !== undefined) $set['email'] = normaliseEmail(changes.email);
    const $unset = unset.length ? { $unset: Object.fromEntries(unset.map((field) => [field, true as const])) } : {};
    const rekey = changes.username !== undefined || changes.email !== undefined || unset.includes('email');
    for (let attempt = 0; attempt < 5; attempt++) {
      const filter: Record<string, unknown> = { _id: id, tenant };
      if (rekey) {
        const current = await this.findById(tenant, id);
        if (!current) return null;
        const username = ($set['username'] as string | undefined) ?? current.username;
        const email = unset.includes('email') ? undefined : (($set['email'] as string | undefined) ?? current.email);
        $set['identifierKeys'] = identifierKeysOf(username, email);
        Object.assign(filter, { username: current.username, email: current.email ?? { $exists: false } });
      }
      const result = await this.#users.updateOne(filter, { $set, ...$unset }).catch(duplicate);
      if (result.matched) return this.findById(tenant, id);
      if (!rekey) return null;
    }
    throw new AppError('conflict', 'the user was changed at the same time; try again');
  }

  /**
   * Gives users stored before identifier keys existed their keys, oldest first, so where two of them
   * claim one key (a username that is another user's e-mail address) the older one keeps it. A user
   * gets the keys still free; one whose keys are all held stays without and cannot sign in by them.
   * Run at boot by the embedded store and by `gatehouse migrate`, after the unique index exists.
   */
  async backfillIdentifierKeys(): Promise<{ updated: number; conflicts: IdentifierConflict[] }> {
    const conflicts: IdentifierConflict[] = [];
    let updated = 0;
    let after: User | undefined;
    for (;;) {
      const cursor = after ? { $or: [{ createdAt: { $gt: after.createdAt } }, { createdAt: after.createdAt, _id: { $gt: after._id } }] } : {};
      const batch = await this.#users.find({ identifierKeys: { $exists: false }, ...cursor }, { sort: { createdAt: 1, _id: 1 }, limit: 200 });
      for (const user of batch) if (await this.#backfill(user, conflicts)) updated++;
      if (batch.length < 200) return { updated, conflicts };
      after = batch[batch.length - 1];
    }
  }

  async #backfill(user: User, conflicts: IdentifierConflict[]): Promise<boolean> {
    const fields = [['username', user.username], ['email', user.email]] as const;
    const free: string[] = [];
    for (const [field, value] of fields) {
      const key = value === undefined ? null : identifierKey(value);
      if (key === null || free.includes(key)) continue;
      const holder = await this.#users.findOne({ tenant: user.tenant, identifierKeys: key });
      if (holder) conflicts.push({ tenant: user.tenant, userId: user._id, field, heldBy: holder._id });
      else free.push(key);
    }
    if (free.length === 0) return false;
    try {
      const result = await this.#users.updateOne({ _id: user._id, tenant: user.tenant, identifierKeys: { $exists: false } }, { $set: { identifierKeys: free } });
      return result.matched > 0;
    } catch (error) {
      // Taken since we looked (a user created meanwhile): the next run tries again.
      if (error instanceof DuplicateKeyError) return false;
      throw error;
    }
  }

  /** Disables or enables sign-in; `findAccount` refuses a disabled user, so their tokens stop refreshing. */
  async setDisabled(tenant: string, id: string, disabled: boolean, now = new Date()): Promise<User | null> {
    const result = await this.#users.updateOne({ _id: id, tenant }, { $set: { disabled, updatedAt: now } });
    return result.matched ? this.findById(tenant, id) : null;
  }

  /**
   * Sets (or with `null` removes) the password hash and whether the next sign-in must change it,
   * in one write so a new password never keeps a stale flag.
   */
  async setPassword(tenant: string, id: string, passwordHash: string | null, mustChange: boolean, now = new Date()): Promise<User | null> {
    const update =
      passwordHash === null
        ? { $set: { passwordMustChange: false, updatedAt: now }, $unset: { passwordHash: true as const } }
        : { $set: { passwordHash, passwordMustChange: mustChange, updatedAt: now } };
    const result = await this.#users.updateOne({ _id: id, tenant }, update);
    return result.matched ? this.findById(tenant, id) : null;
  }

  /**
   * Deletes the user, then what the dependents keep of them. In that order: a failure part-way
   * leaves orphaned data that nobody can reach (user ids are random and never reused), never a user
   * stripped of their second factors.
   */
  async delete(tenant: string, id: string): Promise<boolean> {
    if ((await this.#users.deleteOne({ _id: id, tenant })) === 0) return false;
    await Promise.all(this.dependents.map((dependent) => dependent.deleteUser(tenant, id)));
    return true;
  }

  /**
   * Replaces the password the user just proved (`current`, the hash verified) with `next`, and
   * clears "must change": only if it is still that hash, so of two changes made with the same old
   * password at once one wins and the other is told, instead of the last silently overwriting.
   */
  async replacePassword(tenant: string, id: string, current: string, next: string, now = new Date()): Promise<boolean> {
    const result = await this.#users.updateOne({ _id: id, tenant, passwordHash: current }, { $set: { passwordHash: next, passwordMustChange: false, updatedAt: now } });
    return result.matched > 0;
  }

  async setPasswordHash(tenant: string, id: string, passwordHash: string, now = new Date()): Promise<void> {
    await this.#users.updateOne({ _id: id, tenant }, { $set: { passwordHash, updatedAt: now } });
  }

  async setRoles(tenant: string, id: string, roles: string[], now = new Date()): Promise<boolean> {
    return (await this.#users.updateOne({ _id: id, tenant }, { $set: { roles: [...new Set(roles)], updatedAt: now } })).matched > 0;
  }

  // --- Role membership (admin API roles resource). Single-element updates, so two admins
  // assigning different roles at once never overwrite each other's change.

  /** Gives the user a role (no-op when held); false when the user does not exist in `tenant`. */
  async addRole(tenant: string, id: string, role: string, now = new Date()): Promise<boolean> {
    return (await this.#users.updateOne({ _id: id, tenant }, { $addToSet: { roles: role }, $set: { updatedAt: now } })).matched > 0;
  }

  /** Takes a role from the user (no-op when not held); false when the user does not exist in `tenant`. */
  async removeRole(tenant: string, id: string, role: string, now = new Date()): Promise<boolean> {
    return (await this.#users.updateOne({ _id: id, tenant }, { $pull: { roles: role }, $set: { updatedAt: now } })).matched > 0;
  }

  /** One page of the users holding `role`, by id; `after` is the last id of the previous page. */
  async listByRole(tenant: string, role: string, options: { after?: string; limit: number }): Promise<User[]> {
    return this.#users.find({ tenant, roles: role, ...(options.after !== undefined ? { _id: { $gt: options.after } } : {}) }, { sort: { _id: 1 }, limit: options.limit });
  }

  /** Takes `role` from every user of the tenant (the role was deleted); returns how many held it. */
  async removeRoleEverywhere(tenant: string, role: string, now = new Date()): Promise<number> {
    return this.#users.updateMany({ tenant, roles: role }, { $pull: { roles: role }, $set: { updatedAt: now } });
  }

  async deleteTenant(tenant: string): Promise<void> {
    await this.#users.deleteMany({ tenant });
  }
}
