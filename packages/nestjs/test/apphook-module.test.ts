import {
  ApphookOptionError,
  ApphookRebuildError,
  type MemoryStore,
  type MemoryTransaction,
  memoryStore,
  type Reloader,
} from '@apphook/core';
import { APPHOOK_BINDING, APPHOOK_RELOADER, ApphookModule, InjectReloader } from '@apphook/nestjs';
import {
  type ArgumentsHost,
  type CallHandler,
  type CanActivate,
  Catch,
  Controller,
  type ExceptionFilter,
  type ExecutionContext,
  ForbiddenException,
  Get,
  type INestApplication,
  Injectable,
  type MiddlewareConsumer,
  Module,
  type NestInterceptor,
  type NestModule,
} from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, NestFactory } from '@nestjs/core';
import express from 'express';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { call, createNest, listenNest, type PlatformName, platforms } from './nest-app.js';

const apps: INestApplication[] = [];
afterEach(async () => {
  for (const app of apps.splice(0).reverse()) await app.close();
});

/** The dynamic routes in the form the platform's binding takes: each path answers its text. */
function dynamic(platform: PlatformName, table: Record<string, string>) {
  if (platform === 'express') {
    const router = express.Router();
    for (const [path, body] of Object.entries(table)) router.get(path, (_req, res) => void res.send(body));
    return router;
  }
  return async (app: FastifyInstance) => {
    for (const [path, body] of Object.entries(table)) app.get(path, async () => body);
  };
}

async function start(
  platform: PlatformName,
  rootModule: object,
  configure?: (app: INestApplication) => void,
): Promise<{ app: INestApplication; base: string }> {
  const app = await createNest(platform, rootModule);
  apps.push(app);
  configure?.(app);
  return { app, base: await listenNest(app) };
}

@Controller()
class PagesController {
  @Get('about')
  about(): string {
    return 'controller about';
  }
}

describe.each(platforms)('ApphookModule on platform-%s', (platform) => {
  it('builds the routes before listen, lets controllers win, and leaves unmatched paths to Nest’s 404', async () => {
    const store = memoryStore({ logger: false });
    @Module({
      imports: [
        ApphookModule.forRoot({
          store,
          logger: false,
          rebuildRoutes: ({ version }) =>
            dynamic(platform, { '/page': `page v${version}`, '/about': 'dynamic' }),
        }),
      ],
      controllers: [PagesController],
    })
    class AppModule {}
    const { app, base } = await start(platform, AppModule);
    const reloader = app.get<Reloader>(APPHOOK_RELOADER);
    // onApplicationBootstrap ran the first build before the server listened.
    expect(reloader.version).toBe(0);
    expect(await call(base, '/page')).toMatchObject({ status: 200, body: 'page v0' });
    expect(await call(base, '/about')).toMatchObject({ status: 200, body: 'controller about' });
    const missing = await call(base, '/missing');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toEqual({
      message: 'Cannot GET /missing',
      error: 'Not Found',
      statusCode: 404,
    });
    expect(app.get(APPHOOK_BINDING)).toHaveProperty(platform === 'express' ? 'middleware' : 'plugin');
  });

  it('injects the reloader, so a service bumps the version in its transaction and the routes follow', async () => {
    const store = memoryStore({ logger: false });
    let pages: Record<string, string> = { '/old': 'old page' };

    @Injectable()
    class PagesService {
      constructor(@InjectReloader() readonly reloader: Reloader<unknown, MemoryTransaction>) {}
      publish(path: string, body: string): Promise<number> {
        return store.transaction(async (tx) => {
          pages = { [path]: body };
          return this.reloader.markChanged(tx);
        });
      }
    }

    @Module({ providers: [PagesService], exports: [PagesService] })
    class PagesModule {}

    @Module({
      imports: [
        ApphookModule.forRoot({ store, logger: false, rebuildRoutes: () => dynamic(platform, pages) }),
        PagesModule,
      ],
    })
    class AppModule {}
    const { app, base } = await start(platform, AppModule);
    expect(await call(base, '/old')).toMatchObject({ status: 200, body: 'old page' });
    expect(await app.get(PagesService).publish('/new', 'new page')).toBe(1);
    expect(await call(base, '/new')).toMatchObject({ status: 200, body: 'new page' });
    expect((await call(base, '/old')).status).toBe(404);
  });

  it('takes its options from forRootAsync with injected providers, and mounts under path', async () => {
    @Injectable()
    class RoutesSource {
      routes() {
        return dynamic(platform, { '/': 'pages index', '/team': 'team page' });
      }
    }
    @Module({ providers: [RoutesSource], exports: [RoutesSource] })
    class SourceModule {}

    @Module({
      imports: [
        ApphookModule.forRootAsync({
          imports: [SourceModule],
          inject: [RoutesSource],
          useFactory: (source: RoutesSource) => ({
            store: memoryStore({ logger: false }),
            logger: false,
            path: '/pages',
            rebuildRoutes: () => source.routes(),
          }),
        }),
      ],
    })
    class AppModule {}
    const { base } = await start(platform, AppModule);
    expect(await call(base, '/pages/team')).toMatchObject({ status: 200, body: 'team page' });
    expect(await call(base, '/pages')).toMatchObject({ status: 200, body: 'pages index' });
    expect((await call(base, '/team')).status).toBe(404);
  });

  it('runs Nest middleware and CORS for dynamic routes, but not guards or interceptors, which wrap controllers', async () => {
    @Injectable()
    class DenyFlagged implements CanActivate {
      canActivate(context: ExecutionContext): boolean {
        const request = context.switchToHttp().getRequest<{ headers: Record<string, string> }>();
        return request.headers['x-deny'] === undefined;
      }
    }

    @Injectable()
    class MarkResponses implements NestInterceptor {
      intercept(context: ExecutionContext, next: CallHandler) {
        const response = context.switchToHttp().getResponse<{ header(name: string, value: string): void }>();
        response.header('x-interceptor', 'ran');
        return next.handle();
      }
    }

    @Module({
      imports: [
        ApphookModule.forRoot({
          store: memoryStore({ logger: false }),
          logger: false,
          rebuildRoutes: () => dynamic(platform, { '/page': 'page' }),
        }),
      ],
      controllers: [PagesController],
      providers: [
        { provide: APP_GUARD, useClass: DenyFlagged },
        { provide: APP_INTERCEPTOR, useClass: MarkResponses },
      ],
    })
    class AppModule implements NestModule {
      configure(consumer: MiddlewareConsumer): void {
        consumer
          .apply((_req: unknown, res: { setHeader(name: string, value: string): void }, next: () => void) => {
            res.setHeader('x-nest-middleware', 'ran');
            next();
          })
          .forRoutes('*');
      }
    }
    const { base } = await start(platform, AppModule, (app) =>
      app.enableCors({ origin: 'https://example.test' }),
    );
    const controller = await call(base, '/about');
    expect(controller.status).toBe(200);
    expect(controller.headers.get('x-interceptor')).toBe('ran');
    expect((await call(base, '/about', { headers: { 'x-deny': '1' } })).status).toBe(403);

    const page = await call(base, '/page', { headers: { 'x-deny': '1', origin: 'https://example.test' } });
    expect(page).toMatchObject({ status: 200, body: 'page' });
    expect(page.headers.get('x-interceptor')).toBeNull();
    expect(page.headers.get('x-nest-middleware')).toBe('ran');
    expect(page.headers.get('access-control-allow-origin')).toBe('https://example.test');
  });

  it('hands errors of dynamic routes to Nest’s exception filters on Express, to the build’s own handler on Fastify', async () => {
    class PageError extends Error {}

    @Catch(PageError)
    class PageErrorFilter implements ExceptionFilter {
      catch(_error: PageError, host: ArgumentsHost): void {
        const adapter = app.getHttpAdapter();
        adapter.reply(host.switchToHttp().getResponse(), { by: 'nest filter' }, 409);
      }
    }

    const routes =
      platform === 'express'
        ? express
            .Router()
            .get('/broken', () => {
              throw new PageError('broken page');
            })
            .get('/forbidden', () => {
              throw new ForbiddenException('members only');
            })
        : async (dynamicApp: FastifyInstance) => {
            dynamicApp.get('/broken', async () => {
              throw new PageError('broken page');
            });
            dynamicApp.get('/forbidden', async () => {
              throw new ForbiddenException('members only');
            });
          };
    @Module({
      imports: [
        ApphookModule.forRoot({
          store: memoryStore({ logger: false }),
          logger: false,
          rebuildRoutes: () => routes,
        }),
      ],
      providers: [{ provide: APP_FILTER, useClass: PageErrorFilter }],
    })
    class AppModule {}
    const { app, base } = await start(platform, AppModule);
    const broken = await call(base, '/broken');
    if (platform === 'express') {
      expect(broken.status).toBe(409);
      expect(JSON.parse(broken.body)).toEqual({ by: 'nest filter' });
    } else {
      expect(broken.status).toBe(500);
      expect(JSON.parse(broken.body)).toMatchObject({ statusCode: 500, message: 'broken page' });
    }
    // An HttpException keeps its status either way: Nest maps it on Express, Fastify reads its `status`.
    const forbidden = await call(base, '/forbidden');
    expect(forbidden.status).toBe(403);
    expect(JSON.parse(forbidden.body)).toMatchObject({ statusCode: 403, message: 'members only' });
  });

  it('stops the reloader when the application closes', async () => {
    const store: MemoryStore = memoryStore({ logger: false });
    @Module({
      imports: [ApphookModule.forRoot({ store, logger: false, rebuildRoutes: () => dynamic(platform, {}) })],
    })
    class AppModule {}
    const app = await createNest(platform, AppModule);
    await app.init();
    const reloader = app.get<Reloader<unknown, MemoryTransaction>>(APPHOOK_RELOADER);
    expect(reloader.version).toBe(0);
    await app.close();
    await expect(store.transaction((tx) => reloader.markChanged(tx))).rejects.toMatchObject({
      code: 'E_STATE',
    });
  });

  it('fails app.init() with the rebuild error when the first build fails', async () => {
    @Module({
      imports: [
        ApphookModule.forRoot({
          store: memoryStore({ logger: false }),
          logger: false,
          rebuildRoutes: () => {
            throw new Error('pages table is missing');
          },
        }),
      ],
    })
    class AppModule {}
    const app = await createNest(platform, AppModule);
    apps.push(app);
    const failure = await app.init().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(ApphookRebuildError);
    expect((failure as Error).message).toContain('pages table is missing');
  });
});

describe('ApphookModule without HTTP', () => {
  it('gives an application context (a job worker) a callback binding with the same reloader', async () => {
    @Module({
      imports: [
        ApphookModule.forRoot({
          store: memoryStore({ logger: false }),
          logger: false,
          rebuildRoutes: ({ version }) => new Map([['/page', `link for v${version}`]]),
        }),
      ],
    })
    class WorkerModule {}
    const context = await NestFactory.createApplicationContext(WorkerModule, { logger: false });
    try {
      await context.init();
      const reloader = context.get<Reloader<Map<string, string>>>(APPHOOK_RELOADER);
      expect(reloader.current?.get('/page')).toBe('link for v0');
    } finally {
      await context.close();
    }
  });
});

describe('ApphookModule options', () => {
  it('refuses options it cannot use, saying what to pass', () => {
    expect(() => ApphookModule.forRoot(undefined as never)).toThrow(ApphookOptionError);
    expect(() => ApphookModule.forRoot({ rebuildRoutes: () => [] })).toThrow(
      /store is missing: pass store \(postgresStore\(orm\), memoryStore\(\), \.\.\.\)/,
    );
    expect(() => ApphookModule.forRoot({ store: memoryStore() })).toThrow(/rebuildRoutes must be a function/);
    expect(() =>
      ApphookModule.forRoot({ store: memoryStore(), rebuildRoutes: () => [], path: 'pages' }),
    ).toThrow('[apphook/nestjs] path must start with \'/\', got "pages"');
    expect(() => ApphookModule.forRootAsync({} as never)).toThrow(/forRootAsync needs useFactory/);
  });

  it('refuses a binding that does not fit the platform', async () => {
    const { fastifyBinding } = await import('@apphook/fastify');
    @Module({
      imports: [
        ApphookModule.forRoot({
          store: memoryStore({ logger: false }),
          logger: false,
          binding: fastifyBinding({ rebuildRoutes: () => async () => {} }),
        }),
      ],
    })
    class AppModule {}
    const app = await createNest('express', AppModule);
    apps.push(app);
    await expect(app.init()).rejects.toThrow(
      '[apphook/nestjs] the application runs on platform-express, but the binding has no middleware',
    );
  });
});
