import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import express, { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import { AppModule, AppOverrides } from './app.module';
import { AppLogger, logFormatFor } from './common/app-logger';
import { createValidationPipe } from './common/validation.pipe';
import type { AppConfig } from './config/app-config';
import type { MediaCluster } from './media-cluster/api';
import { BACKPLANE, type Backplane } from './backplane/backplane';
import { serveApiDocs } from './openapi/serve-api-docs';

function packageVersion(): string {
  try {
    return (
      (JSON.parse(readFileSync(join(findProjectRoot(), 'package.json'), 'utf8')) as { version?: string }).version ??
      '0.0.0'
    );
  } catch {
    return '0.0.0';
  }
}

/** Paths the backend answers itself; everything else may be the client's SPA. */
const BACKEND_PATHS = /^\/(api|webhooks|socket\.io|health|metrics)(\/|$)/;

/** The project root holds package.json; compiled files may sit in any outDir, so fall back to cwd. */
export function findProjectRoot(start = __dirname): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'client'))) return dir;
    if (dirname(dir) === dir) return process.cwd();
  }
}

function serveClient(app: NestExpressApplication, clientDist: string): void {
  if (existsSync(join(clientDist, 'index.html'))) {
    app.use(express.static(clientDist, { index: 'index.html' }));
    app.use((req: Request, res: Response, next: NextFunction) => {
      if (req.method !== 'GET' || BACKEND_PATHS.test(req.path)) return next();
      res.sendFile(join(clientDist, 'index.html'));
    });
    return;
  }
  app.use((req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'GET' || req.path !== '/') return next();
    res
      .status(200)
      .type('text/plain')
      .send(
        `session-rebuilder backend is running, but the browser client is not built (${clientDist} is missing).\nBuild it with: npm run build:client   (npm start does it for you)\nAPI: /api/nodes, /api/sessions, /health, /metrics\n`,
      );
  });
}

/**
 * Security headers (helmet) that the sample app lives with: its pages may open WebSockets and HTTP
 * requests to the media nodes (signal, /rtc/validate) besides this origin; no upgrade to https (the
 * dev set-up is plain http on loopback).
 */
export function securityHeaders(config: Pick<AppConfig, 'urls'>): ReturnType<typeof helmet> {
  const nodeOrigins = config.urls.flatMap((url) => {
    const origin = new URL(url).origin.replace(/^ws/, 'http');
    return [url.replace(/\/+$/, ''), origin, origin.replace(/^http/, 'ws')];
  });
  return helmet({
    contentSecurityPolicy: {
      directives: {
        connectSrc: ["'self'", ...new Set(nodeOrigins)],
        imgSrc: ["'self'", 'data:', 'blob:'],
        mediaSrc: ["'self'", 'blob:'],
        upgradeInsecureRequests: null,
      },
    },
    strictTransportSecurity: false,
  });
}

/**
 * Everything around the module that makes the HTTP app what users get: pipes, security headers, CORS
 * (only the origins an operator lists; by default none, the app's own pages need none), the built client.
 */
export function configureApp(
  app: NestExpressApplication,
  config: Pick<AppConfig, 'urls' | 'corsOrigins' | 'trustProxy' | 'adminToken' | 'authSecret' | 'devMode'>,
): NestExpressApplication {
  app.useGlobalPipes(createValidationPipe());
  // socket.io rooms as the backplane shares them: across instances over Redis, in this process otherwise.
  app.useWebSocketAdapter(app.get<Backplane>(BACKPLANE).socketAdapter(app));
  // The proxies whose X-Forwarded-For names the client (--trust-proxy; by default one on this machine,
  // as npm run cluster's nginx): rate limits and socket limits count per that address.
  app.set('trust proxy', [...config.trustProxy]);
  app.use(securityHeaders(config));
  app.enableCors({ origin: config.corsOrigins.length > 0 ? [...config.corsOrigins] : false });
  serveApiDocs(app, packageVersion(), config);
  serveClient(
    app,
    process.env.CLIENT_DIST ? resolve(process.env.CLIENT_DIST) : join(findProjectRoot(), 'client', 'dist'),
  );
  return app;
}

export async function createApp(
  config: AppConfig,
  embeddedCluster: MediaCluster | null,
  overrides: AppOverrides = {},
): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, embeddedCluster, overrides), {
    bodyParser: false,
    logger: new AppLogger(logFormatFor(config.devMode)),
  });
  return configureApp(app, config);
}
