import type { ApphookTokenRow } from '@apphook/mikro-orm';
import type { EntityManager, MikroORM } from '@mikro-orm/core';
import type { RequestHandler, Router } from 'express';

/**
 * The django CMS design, as its ApphookReloadMiddleware does it: on every request, read the token row through
 * the ORM (`UrlconfRevision.get_or_create_revision()`), and when it differs from the one this process built
 * for, rebuild the routes before handling the request. One query per request, in every process.
 */
export function naiveMiddleware(options: {
  orm: MikroORM;
  tokenTable: string;
  scope: string;
  build(): Promise<Router>;
}): { middleware: RequestHandler; queries(): number } {
  const { orm, scope } = options;
  // The token entity the pages-site registered for this table (`defineApphookToken({ tableName })`).
  const Token = orm.getMetadata().getByClassName<ApphookTokenRow>(`ApphookToken_${options.tokenTable}`).class;
  let queries = 0;
  let seen: number | undefined;
  let router: Router | undefined;

  const middleware: RequestHandler = (req, res, next) => {
    queries++;
    const em: EntityManager = orm.em.fork();
    em.findOne(Token, { scope })
      .then(async (row) => {
        const version = Number(row?.version ?? 0);
        if (version !== seen || !router) {
          router = await options.build();
          seen = version;
        }
        router(req, res, next);
      })
      .catch(next);
  };
  return { middleware, queries: () => queries };
}
