import { z } from 'zod';

/** Path parameter `{tenant}`. */
export const tenantParam = z.object({ tenant: z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'a tenant id: lower-case letters, digits and dashes') });

/** List paging: `limit` (1-100, default 20) and an opaque `cursor` from the previous page. */
export const pageQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().max(200).optional(),
  })
  .strict();

export function page<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), next_cursor: z.string().nullable() });
}

/** The next cursor for a page fetched with `limit + 1` items. */
export function paged<T>(items: T[], limit: number, cursorOf: (item: T) => string): { items: T[]; next_cursor: string | null } {
  const more = items.length > limit;
  const pageItems = more ? items.slice(0, limit) : items;
  return { items: pageItems, next_cursor: more ? cursorOf(pageItems.at(-1)!) : null };
}

export const timestamps = { created_at: z.string(), updated_at: z.string() };

export const empty = z.object({}).strict();
