import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';

/** The page's own files: HTML, CSS and ES modules, served as they are (no build step). */
const UI_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'ui');
/** uPlot (the charts) comes from its package, so the page loads nothing from a CDN. */
const UPLOT_DIR = dirname(createRequire(import.meta.url).resolve('uplot'));
const VENDOR_FILES = new Set(['/uPlot.iife.min.js', '/uPlot.min.css']);

/**
 * Everything the page loads comes from this origin; the records it shows are teacher output,
 * written into the page as text only, and this policy forbids inline scripts besides.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/**
 * /ui: the page to watch runs and browse datasets. Its files hold no data and need no key; every
 * call the page makes goes to the API with the key the user enters, as any client's would.
 */
export function uiRoutes(): FastifyPluginAsync {
  return async (app) => {
    app.addHook('onSend', async (_request, reply) => {
      reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'no-referrer');
    });
    app.get('/ui', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/ui/', 301));
    await app.register(fastifyStatic, { root: UI_DIR, prefix: '/ui/', index: 'index.html', cacheControl: true, maxAge: 0 });
    await app.register(fastifyStatic, {
      root: UPLOT_DIR,
      prefix: '/ui/vendor/',
      decorateReply: false,
      index: false,
      maxAge: '1d',
      allowedPath: (path) => VENDOR_FILES.has(path),
    });
  };
}
