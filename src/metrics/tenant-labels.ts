/**
 * The value of the `tenant` label, bounded so that thousands of tenants cannot explode the number of
 * series (each label value multiplies every other label's):
 *
 * - `off`: every tenant is `_all` (one value);
 * - `all`: each tenant is its id (callers pass only ids of existing tenants, so the values are
 *   bounded by the number of tenants; sensible for a few dozen);
 * - `top`: the first `top` distinct tenants seen since the process started keep their id, every
 *   other is `_other` (at most `top` + 1 values). A series that exists must keep counting, so a
 *   tenant never loses its slot; busy tenants send traffic all the time and so take the slots
 *   within seconds of a start. Instances started at different times may keep different tenants.
 *
 * Tenant ids cannot start with `_` (`domain/tenants.ts`), so `_all` and `_other` never collide.
 */
export type TenantLabelMode = 'off' | 'all' | 'top';

export class TenantLabels {
  readonly #kept = new Set<string>();

  constructor(
    private readonly mode: TenantLabelMode,
    private readonly top: number,
  ) {}

  of(tenant: string): string {
    if (this.mode === 'off') return '_all';
    if (this.mode === 'all' || this.#kept.has(tenant)) return tenant;
    if (this.#kept.size >= this.top) return '_other';
    this.#kept.add(tenant);
    return tenant;
  }
}
