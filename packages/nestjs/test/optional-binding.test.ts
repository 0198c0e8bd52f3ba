import { ApphookOptionError } from '@apphook/core';
import { describe, expect, it } from 'vitest';
import { loadBinding } from '../src/platform.js';

/** @apphook/express and @apphook/fastify are optional peers: only the platform's binding is loaded. */
describe('the platform binding of @apphook/nestjs', () => {
  it('names the package to install when the platform binding is missing', async () => {
    const missing = Object.assign(new Error("Cannot find package '@apphook/fastify'"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    const error = await loadBinding('fastify', () => Promise.reject(missing)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApphookOptionError);
    expect((error as Error).message).toMatch(/platform-fastify.*npm install @apphook\/fastify/);
    expect((error as Error).cause).toBe(missing);
  });

  it('passes on any other loading error as it is', async () => {
    const broken = new SyntaxError('Unexpected token');
    await expect(loadBinding('express', () => Promise.reject(broken))).rejects.toBe(broken);
  });

  it('loads the binding of the platform', async () => {
    const { expressBinding } = await loadBinding('express', () => import('@apphook/express'));
    expect(typeof expressBinding).toBe('function');
  });
});
