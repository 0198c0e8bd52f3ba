import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';

export type PlatformName = 'express' | 'fastify';
export const platforms: PlatformName[] = ['express', 'fastify'];

/** Creates the Nest application on the platform, without its logger. Not listening yet. */
export async function createNest(platform: PlatformName, rootModule: object): Promise<INestApplication> {
  const adapter = platform === 'express' ? new ExpressAdapter() : new FastifyAdapter();
  return NestFactory.create(rootModule, adapter, { logger: false, abortOnError: false });
}

/** Listens on an ephemeral loopback port and gives the base URL. */
export async function listenNest(app: INestApplication): Promise<string> {
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  return `http://127.0.0.1:${address.port}`;
}

export interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

export async function call(base: string, path: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(`${base}${path}`, init);
  return { status: response.status, headers: response.headers, body: await response.text() };
}
