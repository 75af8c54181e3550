/**
 * Something that keeps data of tenants and can forget everything of one tenant: each repository,
 * the oidc-provider models and the short-lived state. Answers once nothing of the tenant is left.
 */
export interface TenantData {
  deleteTenant(tenant: string): Promise<unknown>;
}

/** What deleting a tenant needs, built once at the composition root (`src/app-context.ts`). */
export interface TenantDeletion {
  /** every holder of per-tenant data but the keys; a new store of tenant data registers here */
  holders: readonly TenantData[];
  /** the tenant's signing and cookie keys: removed after the rest (see below) */
  keys: TenantData;
  /** the tenant records: the tenant itself goes last */
  tenants: { delete(tenant: string): Promise<unknown> };
}

/**
 * Deletes a tenant and everything it owns. What it owns goes first and the tenant record last, so
 * a failure part way leaves a tenant that still exists and a retry finishes the job; a new tenant
 * of the same id can never inherit leftovers. Keys go after the data they protect, so nothing that
 * is still stored was ever left without its keys.
 */
export async function deleteTenantAndData(deletion: TenantDeletion, tenant: string): Promise<void> {
  await Promise.all(deletion.holders.map((holder) => holder.deleteTenant(tenant)));
  await deletion.keys.deleteTenant(tenant);
  await deletion.tenants.delete(tenant);
}
