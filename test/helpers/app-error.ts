import { expect } from 'vitest';
import { AppError } from '../../src/errors.js';

/** The AppError a promise rejects with (the test fails when it resolves or rejects with anything else). */
export async function appErrorOf(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}
