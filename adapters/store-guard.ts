/**
 * Runtime checks shared by every backend, so a repository that passes them on the embedded store
 * also runs on MongoDB (and the other way round). Each rejects with a `TypeError`/`RangeError` that
 * names the collection: these are programming errors, never a reason to answer 503.
 *
 * Checked here and not left to the backend: the port's operator subset (which also keeps `$where`,
 * `$expr` and friends away from MongoDB), `null` in filters (Mongo matches missing fields, nedb does
 * not: use `$exists`), field names (nedb forbids `.` and a leading `$`), and `_id` being a string.
 */
import type { Doc, Filter, FindOptions, IndexSpec, Update } from './store.js';

const filterOperators = new Set(['$in', '$nin', '$ne', '$exists', '$lt', '$lte', '$gt', '$gte', '$regex']);
const updateOperators = new Set(['$set', '$unset', '$inc', '$push', '$pull', '$addToSet']);
const maxDepth = 32;

/** True for `{}`-style objects (not arrays, Dates, RegExps, class instances). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** True for `{ $gt: 1 }`-style operator objects. */
export function isOperatorObject(value: unknown): value is Record<string, unknown> {
  return isPlainObject(value) && Object.keys(value).some((key) => key.startsWith('$'));
}

/** Collection names become file names on nedb: no separators, no dots, nothing hidden. */
export function checkCollectionName(name: string): void {
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(name)) {
    throw new TypeError(`invalid collection name ${JSON.stringify(name)}: use letters, digits, - and _`);
  }
}

// Building objects from these names (upserts, nedb's copies) could reach Object.prototype.
const forbiddenNames = new Set(['__proto__', 'constructor', 'prototype']);

function checkPath(collection: string, path: string): void {
  if (path === '' || path.split('.').some((part) => part === '' || part.startsWith('$') || forbiddenNames.has(part))) {
    throw new TypeError(`${collection}: invalid field path ${JSON.stringify(path)}`);
  }
}

function checkFieldNames(collection: string, value: unknown, depth: number): void {
  if (depth > maxDepth) throw new TypeError(`${collection}: document nested deeper than ${maxDepth} levels`);
  if (Array.isArray(value)) {
    for (const item of value) checkFieldNames(collection, item, depth + 1);
  } else if (isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (key === '' || key.includes('.') || key.startsWith('$') || forbiddenNames.has(key)) {
        throw new TypeError(`${collection}: field name ${JSON.stringify(key)} is empty, reserved, contains "." or starts with "$"`);
      }
      checkFieldNames(collection, item, depth + 1);
    }
  }
}

/** A document to insert: a plain object with a non-empty string `_id` and portable field names. */
export function checkDocument(collection: string, doc: unknown): asserts doc is Doc {
  if (!isPlainObject(doc)) throw new TypeError(`${collection}: a document must be a plain object`);
  if (typeof doc._id !== 'string' || doc._id === '') {
    throw new TypeError(`${collection}: a document needs a non-empty string _id`);
  }
  checkFieldNames(collection, doc, 0);
}

function checkCondition(collection: string, path: string, condition: unknown): void {
  checkPath(collection, path);
  // MongoDB's driver drops `undefined` keys, so `{ tenant: undefined }` would match every tenant.
  if (condition === undefined) throw new TypeError(`${collection}: undefined in a filter (${path})`);
  if (condition === null) {
    throw new TypeError(`${collection}: null in a filter (${path}) is not portable, use { $exists: false }`);
  }
  if (!isOperatorObject(condition)) return;
  for (const [operator, operand] of Object.entries(condition)) {
    if (!filterOperators.has(operator)) throw new TypeError(`${collection}: unsupported filter operator ${operator} (${path})`);
    const ok =
      operator === '$in' || operator === '$nin'
        ? Array.isArray(operand) && !operand.some((item) => item === null || item === undefined)
        : operator === '$exists'
          ? typeof operand === 'boolean'
          : operator === '$regex'
            ? operand instanceof RegExp
            : operand !== null && operand !== undefined && !isOperatorObject(operand);
    if (!ok) throw new TypeError(`${collection}: invalid operand for ${operator} (${path})`);
  }
}

/** A filter inside the port's subset (see `store.ts`). */
export function checkFilter(collection: string, filter: unknown, depth = 0): void {
  if (!isPlainObject(filter)) throw new TypeError(`${collection}: a filter must be a plain object`);
  if (depth > maxDepth) throw new TypeError(`${collection}: filter nested too deeply`);
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$or' || key === '$and') {
      if (!Array.isArray(value) || value.length === 0) throw new TypeError(`${collection}: ${key} needs a non-empty array`);
      for (const sub of value) checkFilter(collection, sub, depth + 1);
    } else if (key.startsWith('$')) {
      throw new TypeError(`${collection}: unsupported filter operator ${key}`);
    } else {
      checkCondition(collection, key, value);
    }
  }
}

/** An update made only of the port's operators, touching at least one field and never `_id`. */
export function checkUpdate(collection: string, update: unknown): asserts update is Update {
  if (!isPlainObject(update)) throw new TypeError(`${collection}: an update must be a plain object of operators`);
  let fields = 0;
  for (const [operator, operand] of Object.entries(update)) {
    if (!updateOperators.has(operator)) {
      throw new TypeError(`${collection}: unsupported update operator ${JSON.stringify(operator)}`);
    }
    if (!isPlainObject(operand)) throw new TypeError(`${collection}: ${operator} needs an object`);
    for (const [path, value] of Object.entries(operand)) {
      checkPath(collection, path);
      if (path === '_id' || path.startsWith('_id.')) throw new TypeError(`${collection}: _id cannot be updated`);
      if (operator === '$inc' && (typeof value !== 'number' || !Number.isFinite(value))) {
        throw new TypeError(`${collection}: $inc needs a finite number (${path})`);
      }
      // Mongo's driver drops an undefined $set value (field kept), nedb would clear it: use $unset.
      if (operator === '$set' && value === undefined) throw new TypeError(`${collection}: $set of undefined (${path}), use $unset`);
      // Values that end up stored are checked like documents ($pull's operand is a condition).
      if (operator === '$set') checkFieldNames(collection, value, 1);
      if (operator === '$push' || operator === '$addToSet') {
        checkFieldNames(collection, isPlainObject(value) && '$each' in value ? value.$each : value, 1);
      }
      fields += 1;
    }
  }
  if (fields === 0) throw new TypeError(`${collection}: an update must change at least one field`);
}

/** `skip` and `limit` are whole numbers; `sort` directions are 1 or -1. */
export function checkFindOptions(collection: string, options: FindOptions | undefined): void {
  if (!options) return;
  for (const key of ['skip', 'limit'] as const) {
    const value = options[key];
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
      throw new RangeError(`${collection}: ${key} must be a whole number >= 0`);
    }
  }
  for (const [path, direction] of Object.entries(options.sort ?? {})) {
    checkPath(collection, path);
    if (direction !== 1 && direction !== -1) throw new RangeError(`${collection}: sort direction must be 1 or -1`);
  }
}

/** An index spec every backend can build. */
export function checkIndexSpec(collection: string, spec: IndexSpec): void {
  if (!Array.isArray(spec.fields) || spec.fields.length === 0) throw new TypeError(`${collection}: an index needs fields`);
  for (const field of spec.fields) checkPath(collection, field);
  if (new Set(spec.fields).size !== spec.fields.length) throw new TypeError(`${collection}: an index repeats a field`);
  if (spec.ttl && spec.fields.length !== 1) throw new TypeError(`${collection}: a TTL index has exactly one field`);
}

/**
 * The document an upsert starts from: the filter's equality fields (also inside `$and`, dotted
 * paths expanded), as MongoDB builds it. Operator conditions and `$or` contribute nothing.
 */
export function upsertBase(filter: Filter, base: Record<string, unknown> = {}): Record<string, unknown> {
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$and') for (const sub of value as Filter[]) upsertBase(sub, base);
    if (key.startsWith('$') || isOperatorObject(value) || value instanceof RegExp) continue;
    const parts = key.split('.');
    let target = base;
    for (const part of parts.slice(0, -1)) target = (target[part] ??= {}) as Record<string, unknown>;
    target[parts.at(-1) as string] = structuredClone(value);
  }
  return base;
}

/** The `_id` an upsert of `filter` would insert: the filter's string `_id`, or none (the backend picks one). */
export function upsertId(collection: string, filter: Filter): string | undefined {
  const { _id } = upsertBase(filter);
  if (_id !== undefined && typeof _id !== 'string') throw new TypeError(`${collection}: an upsert needs a string _id`);
  return _id;
}
