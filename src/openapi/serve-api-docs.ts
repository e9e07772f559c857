import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { ApiDocsConfig, apiDocumentFor } from './api-document';
import { methodNotAllowed } from './method-not-allowed';
import { DEV_TOOLS_TAG, SECURITY } from './openapi.decorators';

function accessSummary(config: ApiDocsConfig): string {
  const joins = config.authSecret
    ? 'joins need a join token signed with the --auth-secret (or the admin token)'
    : 'anyone with the link may join';
  const operators = config.adminToken
    ? "operators' endpoints need the admin token"
    : config.devMode
      ? "operators' endpoints are open (dev mode)"
      : "operators' endpoints are off (no --admin-token)";
  return `This instance: ${joins}; ${operators}.`;
}

/**
 * /api/docs (Swagger UI) and /api/docs-json, for anyone: they describe the API, not its data. The
 * description is the one of this instance's configuration, and its paths answer 405 to other methods.
 */
export function serveApiDocs(app: NestExpressApplication, version: string, config: ApiDocsConfig): void {
  const builder = new DocumentBuilder()
    .setTitle('session-rebuilder')
    .setDescription(
      `Keeps LiveKit sessions alive when a media node dies: tokens, rejoins, node health. Sockets (/session, socket.io) are described in the README. ${accessSummary(config)}`,
    )
    .setVersion(version)
    .addTag(DEV_TOOLS_TAG, "the sample app's crash buttons: dev mode only")
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'the --admin-token' }, SECURITY.admin)
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description: 'a join token your app signed with the --auth-secret',
      },
      SECURITY.join,
    )
    .addApiKey(
      {
        type: 'apiKey',
        in: 'header',
        name: 'Authorization',
        description: "LiveKit's webhook signature: a JWT holding the body's sha256, signed with the API secret",
      },
      SECURITY.livekit,
    );
  // Tags as the controllers give them, one per operation (not the controller's name besides).
  const document = apiDocumentFor(
    SwaggerModule.createDocument(app, builder.build(), { autoTagControllers: false }),
    config,
  );
  app.use(methodNotAllowed(document));
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs-json' });
}
