/**
 * The states of a tenant's keys, computed from stored timestamps only, so every instance that reads
 * the same documents at the same time agrees without talking to the others:
 *
 * - **next**: `activatesAt` lies ahead; published (JWKS) or accepted (cookies), not used to sign.
 * - **active**: the key of its alg (cookie keys: of its kind) activated most recently; it signs.
 * - **retired**: a key of its alg activated after it; still published until `unpublishAt`, when
 *   everything it can have signed has expired.
 * - **unpublished**: past `unpublishAt`; used for nothing, deleted at the next rotation.
 *
 * `retiredAt` is the activation time of the key that replaced it: derived, never written, so there
 * is no second write that could be lost or race, and nothing has to run at the moment of activation.
 */
export type KeyState = 'next' | 'active' | 'retired' | 'unpublished';

export interface DatedKey {
  _id: string;
  kind: 'signing' | 'cookie';
  alg?: string;
  createdAt: Date;
  activatesAt?: Date;
}

export interface KeyTimeline<K extends DatedKey> {
  key: K;
  state: KeyState;
  activatesAt: Date;
  /** when a newer key of its alg starts signing (known once one exists) */
  retiresAt?: Date;
  /** `retiresAt` plus the retention of its kind */
  unpublishAt?: Date;
}

/** Seconds a retired key stays published (signing) or accepted (cookies) after its retirement. */
export interface KeyRetention {
  signingSeconds: number;
  cookieSeconds: number;
}

const activation = (key: DatedKey) => (key.activatesAt ?? key.createdAt).getTime();

/** Later activation first; ties by creation, then id, so every instance orders alike. */
function newestFirst(a: DatedKey, b: DatedKey): number {
  return activation(b) - activation(a) || b.createdAt.getTime() - a.createdAt.getTime() || (a._id < b._id ? 1 : a._id > b._id ? -1 : 0);
}

export function keyTimelines<K extends DatedKey>(keys: readonly K[], retention: KeyRetention, now: Date): KeyTimeline<K>[] {
  const groups = new Map<string, K[]>();
  for (const key of keys) {
    const group = `${key.kind}:${key.alg ?? ''}`;
    groups.set(group, [...(groups.get(group) ?? []), key]);
  }
  const timelines: KeyTimeline<K>[] = [];
  for (const group of groups.values()) {
    const ordered = [...group].sort(newestFirst);
    ordered.forEach((key, index) => {
      const activatesAt = new Date(activation(key));
      // The next newer key of the group is the one that takes over from this one.
      const successor = ordered[index - 1];
      const retiresAt = successor ? new Date(activation(successor)) : undefined;
      const keep = (key.kind === 'signing' ? retention.signingSeconds : retention.cookieSeconds) * 1000;
      const unpublishAt = retiresAt ? new Date(retiresAt.getTime() + keep) : undefined;
      const t = now.getTime();
      const state: KeyState =
        activatesAt.getTime() > t ? 'next' : !retiresAt || retiresAt.getTime() > t ? 'active' : unpublishAt!.getTime() > t ? 'retired' : 'unpublished';
      timelines.push({ key, state, activatesAt, ...(retiresAt ? { retiresAt } : {}), ...(unpublishAt ? { unpublishAt } : {}) });
    });
  }
  return timelines;
}

/** The earliest moment after `now` at which some key changes state (the context must be rebuilt then). */
export function nextStateChange(timelines: readonly KeyTimeline<DatedKey>[], now: Date): Date | undefined {
  const ahead = timelines
    .flatMap((timeline) => [timeline.activatesAt, timeline.retiresAt, timeline.unpublishAt])
    .filter((moment): moment is Date => moment !== undefined && moment.getTime() > now.getTime())
    .map((moment) => moment.getTime());
  return ahead.length ? new Date(Math.min(...ahead)) : undefined;
}
