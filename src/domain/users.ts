import { randomUUID } from 'node:crypto';
import type { Collection, Store } from '../../adapters/store.js';
import { DuplicateKeyError } from '../../adapters/store.js';
import { AppError } from '../errors.js';

/** A person who signs in to a tenant. Never leaves the domain layer with its hash attached. */
export interface User {
  _id: string;
  tenant: string;
  /** stored normalised (NFKC, lower case); sign-in accepts it in any case */
  username: string;
  email?: string;
  emailVerified: boolean;
  phone?: string;
  phoneVerified: boolean;
  givenName?: string;
  familyName?: string;
  name?: string;
  passwordHash?: string;
  disabled: boolean;
  /** names of the tenant's roles assigned to this user */
  roles?: string[];
  createdAt: Date;
  updatedAt: Date;
}

export type NewUser = Pick<User, 'username'> &
  Partial<Pick<User, 'email' | 'emailVerified' | 'phone' | 'phoneVerified' | 'givenName' | 'familyName' | 'name' | 'passwordHash' | 'disabled' | 'roles'>>;

export function normaliseUsername(input: string): string {
  return input.normalize('NFKC').trim().toLowerCase();
}

export class UserRepository {
  readonly #users: Collection<User>;

  constructor(store: Store) {
    this.#users = store.collection<User>('users');
  }

  async findById(tenant: string, id: string): Promise<User | null> {
    return this.#users.findOne({ _id: id, tenant });
  }

  /** Finds a user by username, or by e-mail address when the identifier contains `@`. */
  async findByIdentifier(tenant: string, identifier: string): Promise<User | null> {
    const value = normaliseUsername(identifier);
    if (!value) return null;
    const byUsername = await this.#users.findOne({ tenant, username: value });
    if (byUsername || !value.includes('@')) return byUsername;
    return this.#users.findOne({ tenant, email: value });
  }

  async create(tenant: string, input: NewUser, now = new Date()): Promise<User> {
    const user: User = {
      _id: randomUUID(),
      tenant,
      emailVerified: false,
      phoneVerified: false,
      disabled: false,
      ...input,
      username: normaliseUsername(input.username),
      ...(input.email ? { email: input.email.trim().toLowerCase() } : {}),
      createdAt: now,
      updatedAt: now,
    };
    try {
      await this.#users.insertOne(user);
    } catch (error) {
      if (error instanceof DuplicateKeyError) throw new AppError('conflict', 'a user with this username or e-mail address already exists');
      throw error;
    }
    return user;
  }

  async setPasswordHash(tenant: string, id: string, passwordHash: string, now = new Date()): Promise<void> {
    await this.#users.updateOne({ _id: id, tenant }, { $set: { passwordHash, updatedAt: now } });
  }

  async setRoles(tenant: string, id: string, roles: string[], now = new Date()): Promise<boolean> {
    return (await this.#users.updateOne({ _id: id, tenant }, { $set: { roles: [...new Set(roles)], updatedAt: now } })).matched > 0;
  }

  async deleteTenant(tenant: string): Promise<void> {
    await this.#users.deleteMany({ tenant });
  }
}
