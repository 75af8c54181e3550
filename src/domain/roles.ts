import type { Collection, Store } from '../../adapters/store.js';
import { DuplicateKeyError } from '../../adapters/store.js';
import { AppError } from '../errors.js';

/** One permission: a scope of an API (resource server). `invoices:read` on `https://api.example`. */
export interface Permission {
  api: string;
  scope: string;
}

/** A named set of permissions, assigned to users and service accounts of one tenant. */
export interface Role {
  _id: string;
  tenant: string;
  name: string;
  description?: string;
  permissions: Permission[];
  createdAt: Date;
  updatedAt: Date;
}

export type NewRole = Pick<Role, 'name' | 'permissions'> & Partial<Pick<Role, 'description'>>;

/** Role names: letters, digits, `.`, `_`, `-`, `:`; they appear in tokens (`roles` claim). */
export const roleNamePattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

export class RoleRepository {
  readonly #roles: Collection<Role>;

  constructor(store: Store) {
    this.#roles = store.collection<Role>('roles');
  }

  async find(tenant: string, name: string): Promise<Role | null> {
    return this.#roles.findOne({ _id: key(tenant, name), tenant });
  }

  /** One page of a tenant's roles by name; `after` is the last name of the previous page. */
  async page(tenant: string, options: { after?: string; limit: number }): Promise<Role[]> {
    return this.#roles.find({ tenant, ...(options.after !== undefined ? { name: { $gt: options.after } } : {}) }, { sort: { name: 1 }, limit: options.limit });
  }

  async create(tenant: string, input: NewRole, now = new Date()): Promise<Role> {
    const role: Role = { ...input, _id: key(tenant, input.name), tenant, createdAt: now, updatedAt: now };
    try {
      await this.#roles.insertOne(role);
    } catch (error) {
      if (error instanceof DuplicateKeyError) throw new AppError('conflict', `role ${input.name} already exists`);
      throw error;
    }
    return role;
  }

  /**
   * Makes the role what `input` says (bootstrap applies its role at every start): replaces the
   * permissions, and the description, removing one `input` leaves out; `createdAt` is set only by
   * the insert. Of parallel first puts one inserts and the others update what it inserted.
   */
  async put(tenant: string, input: NewRole, now = new Date()): Promise<void> {
    const _id = key(tenant, input.name);
    const { description } = input;
    const update = {
      $set: { permissions: input.permissions, ...(description ? { description } : {}), updatedAt: now },
      ...(description ? {} : { $unset: { description: true as const } }),
    };
    if ((await this.#roles.updateOne({ _id, tenant }, update)).matched) return;
    try {
      await this.#roles.insertOne({ _id, tenant, name: input.name, permissions: input.permissions, ...(description ? { description } : {}), createdAt: now, updatedAt: now });
    } catch (error) {
      if (!(error instanceof DuplicateKeyError)) throw error;
      await this.#roles.updateOne({ _id, tenant }, update);
    }
  }

  /**
   * Changes a role's description and/or replaces its permissions; a `null` description removes it.
   * Names are immutable: they are what users and clients hold, so a rename is delete + create.
   */
  async update(tenant: string, name: string, changes: { description?: string | null; permissions?: Permission[] }, now = new Date()): Promise<Role | null> {
    const { description, permissions } = changes;
    const result = await this.#roles.updateOne(
      { _id: key(tenant, name), tenant },
      {
        $set: { ...(typeof description === 'string' ? { description } : {}), ...(permissions ? { permissions } : {}), updatedAt: now },
        ...(description === null ? { $unset: { description: true as const } } : {}),
      },
    );
    return result.matched ? this.find(tenant, name) : null;
  }

  async delete(tenant: string, name: string): Promise<boolean> {
    return (await this.#roles.deleteOne({ _id: key(tenant, name), tenant })) > 0;
  }

  /** The scopes of `api` that the named roles grant together. */
  async scopesFor(tenant: string, roleNames: readonly string[], api: string): Promise<Set<string>> {
    const scopes = new Set<string>();
    if (roleNames.length === 0) return scopes;
    const roles = await this.#roles.find({ _id: { $in: roleNames.map((name) => key(tenant, name)) }, tenant });
    for (const role of roles) for (const permission of role.permissions) if (permission.api === api) scopes.add(permission.scope);
    return scopes;
  }

  /** Every permission the named roles grant, for `GET /me`. */
  async permissionsFor(tenant: string, roleNames: readonly string[]): Promise<Permission[]> {
    if (roleNames.length === 0) return [];
    const roles = await this.#roles.find({ _id: { $in: roleNames.map((name) => key(tenant, name)) }, tenant });
    const seen = new Map<string, Permission>();
    for (const role of roles) for (const permission of role.permissions) seen.set(`${permission.api} ${permission.scope}`, permission);
    return [...seen.values()];
  }

  async deleteTenant(tenant: string): Promise<void> {
    await this.#roles.deleteMany({ tenant });
  }
}

function key(tenant: string, name: string): string {
  return `${tenant}:${name}`;
}
