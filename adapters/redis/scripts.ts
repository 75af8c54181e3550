/**
 * The Lua scripts behind the operations Redis has no single command for. A script runs atomically
 * on the server, so each operation stays one step however many callers race it. Every key a script
 * touches is passed in KEYS (never built inside), so Redis Cluster routes it to the right node.
 */
import type { Result } from 'ioredis';
import type { RedisConnection } from './client.js';

/** Replaces the value only when it is the expected one (ARGV[1] '1') or absent (ARGV[1] '0'); ARGV[3] '0' deletes. */
const compareAndSet = `
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if current ~= ARGV[2] then return 0 end
elseif current then
  return 0
end
if ARGV[3] == '1' then
  redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[5])
else
  redis.call('DEL', KEYS[1])
end
return 1`;

/** Adds to several counters of one hash; a new hash gets its lifetime, an existing one keeps its own (a fixed window). */
const increment = `
local new = redis.call('EXISTS', KEYS[1]) == 0
for i = 2, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
end
if new then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return redis.call('HGETALL', KEYS[1])`;

/** Adds members and lengthens the set's lifetime to ARGV[1] ms, never shortening it. */
const addToSet = `
for i = 2, #ARGV do
  redis.call('SADD', KEYS[1], ARGV[i])
end
local left = redis.call('PTTL', KEYS[1])
if left < tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return 0`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    gatehouseCompareAndSet(key: string, hasExpected: '0' | '1', expected: string, hasNext: '0' | '1', next: string, ttlMs: number): Result<number, Context>;
    gatehouseIncrement(key: string, ttlMs: number, ...fieldsAndSteps: Array<string | number>): Result<string[], Context>;
    gatehouseAddToSet(key: string, ttlMs: number, ...members: string[]): Result<number, Context>;
  }
}

/** Defines the scripts on a connection (sent by hash, loaded once per server by ioredis). */
export function defineScripts(connection: RedisConnection): void {
  connection.defineCommand('gatehouseCompareAndSet', { numberOfKeys: 1, lua: compareAndSet });
  connection.defineCommand('gatehouseIncrement', { numberOfKeys: 1, lua: increment });
  connection.defineCommand('gatehouseAddToSet', { numberOfKeys: 1, lua: addToSet });
}
