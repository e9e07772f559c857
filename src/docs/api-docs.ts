// The OpenAPI description served at /api/docs (Swagger UI) and /api/docs-json, built from the real DTOs
// (their validation rules are the schema's) and from the answer classes below, which implement the
// contract types (src/contracts) so the two cannot drift apart. Every error an operation can answer is
// listed with its status; the bodies are ApiErrorBody.
import { applyDecorators } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { ApiBearerAuth, ApiExtraModels, ApiHeader, ApiProperty, ApiPropertyOptional, ApiResponse, DocumentBuilder, getSchemaPath, SwaggerModule } from '@nestjs/swagger';
import type { ApiErrorBody, AppInfo, GetTokenResponse, InfoNode, JoinResponse, RejoinResponse } from '../contracts';

export class ApiErrorDto implements ApiErrorBody {
  @ApiProperty({ type: 'integer', example: 400 })
  statusCode!: number;
  @ApiProperty({ example: 'Bad Request' })
  error!: string;
  @ApiProperty({ example: 'invalid name: name must be 1-64 printable characters' })
  message!: string;
  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } }, description: 'every failing field, for a 400' })
  details?: Record<string, string[]>;
}

const ERROR_MEANINGS: Record<number, string> = {
  400: 'invalid input: every failing field is named',
  401: 'missing or wrong credentials (rejoin key, join token, admin token, webhook signature)',
  403: 'the join token does not cover this session',
  404: 'no such session or participant, or not served here',
  409: 'the session is full',
  413: 'the body is too large',
  429: 'over --rate-limit for this address; see Retry-After',
  502: 'a media node failed the call',
  503: 'no media node is up, the store is unreachable, or the instance is shutting down',
};

/** The error answers of an operation, each with ApiErrorBody. */
export function ApiErrors(...statuses: number[]): MethodDecorator & ClassDecorator {
  // Content named explicitly: errors are JSON even where the success answer is not (/metrics).
  const content = { 'application/json': { schema: { $ref: getSchemaPath(ApiErrorDto) } } };
  return applyDecorators(ApiExtraModels(ApiErrorDto), ...statuses.map((status) => ApiResponse({ status, description: ERROR_MEANINGS[status] ?? 'error', content })));
}

export class JoinResponseDto implements JoinResponse {
  @ApiProperty() sessionId!: string;
  @ApiProperty() identity!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ description: 'the media node to connect to' }) url!: string;
  @ApiProperty({ description: 'LiveKit access token for room = sessionId, 10 minutes' }) token!: string;
  @ApiProperty({ description: 'returned once; rejoins, leaves and the socket handshake need it' }) rejoinKey!: string;
  @ApiProperty({ type: 'integer', description: 'placement counter: a newer one wins' }) generation!: number;
}

export class RejoinResponseDto implements RejoinResponse {
  @ApiProperty() url!: string;
  @ApiProperty() token!: string;
  @ApiProperty({ type: 'integer' }) generation!: number;
}

export class GetTokenResponseDto implements GetTokenResponse {
  @ApiProperty() token!: string;
  @ApiProperty() url!: string;
}

class RoomSettingsView {
  @ApiProperty() metadata!: string;
  @ApiProperty({ type: 'integer' }) emptyTimeoutSec!: number;
  @ApiProperty({ type: 'integer' }) departureTimeoutSec!: number;
  @ApiProperty({ type: 'integer' }) maxParticipants!: number;
}

class ParticipantView {
  @ApiProperty() identity!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: ['invited', 'joined', 'leaving', 'left'] }) state!: string;
}

export class SessionViewDto {
  @ApiProperty() sessionId!: string;
  @ApiProperty() nodeUrl!: string;
  @ApiProperty({ type: 'integer' }) generation!: number;
  @ApiProperty() waitingForNode!: boolean;
  @ApiProperty({ type: () => RoomSettingsView }) room!: RoomSettingsView;
  @ApiProperty({ type: () => [ParticipantView] }) participants!: ParticipantView[];
}

export class NodeViewDto {
  @ApiProperty() url!: string;
  @ApiProperty({ enum: ['unknown', 'up', 'suspect', 'down'] }) status!: string;
  @ApiProperty({ description: 'epoch ms of the last change' }) since!: number;
  @ApiProperty() sinceIso!: string;
  @ApiProperty({ description: 'why it is in that state' }) reason!: string;
  @ApiProperty({ type: 'integer' }) consecutiveFailures!: number;
  @ApiProperty({ type: 'integer' }) consecutiveSuccesses!: number;
  @ApiPropertyOptional() lastProbeAt?: number;
  @ApiPropertyOptional() lastLatencyMs?: number;
  @ApiProperty() silentMs!: number;
  @ApiProperty({ type: 'integer' }) sessions!: number;
  @ApiProperty({ type: 'integer' }) participants!: number;
  @ApiProperty({ type: () => [PeerNodeViewDto], description: 'what the other backend instances sharing the store see of this node (empty with one instance)' })
  peers!: PeerNodeViewDto[];
}

class PeerNodeViewDto {
  @ApiProperty({ description: 'the instance (host:pid)' }) instance!: string;
  @ApiProperty({ enum: ['unknown', 'up', 'suspect', 'down'] }) status!: string;
  @ApiProperty({ description: 'epoch ms of the last change it saw' }) since!: number;
  @ApiProperty() reason!: string;
}

class InfoNodeView implements InfoNode {
  @ApiProperty() url!: string;
  @ApiPropertyOptional({ enum: ['unknown', 'up', 'suspect', 'down'] }) status!: InfoNode['status'];
  @ApiPropertyOptional() name?: string;
  @ApiPropertyOptional({ type: 'integer' }) pid?: number;
  @ApiPropertyOptional() process?: string;
}

class InstanceView {
  @ApiProperty({ type: 'integer' }) pid!: number;
  @ApiProperty({ enum: ['memory', 'redis'] }) store!: 'memory' | 'redis';
  @ApiProperty() crashable!: boolean;
}

export class AppInfoDto implements AppInfo {
  @ApiProperty() devCluster!: boolean;
  @ApiProperty({ type: () => [InfoNodeView] }) nodes!: InfoNodeView[];
  @ApiProperty({ type: () => InstanceView }) instance!: InstanceView;
}

export class HealthDto {
  @ApiProperty({ enum: ['ok'] }) status!: 'ok';
}

/** @nestjs/terminus's answer: each check by name, up or down, with what it found. */
export class ReadinessDto {
  @ApiProperty({ enum: ['ok', 'error', 'shutting_down'] }) status!: string;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: 'the checks that are up' }) info?: Record<string, unknown>;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: 'the checks that are down' }) error?: Record<string, unknown>;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'every check: config, store, media (each node with its state and why)' }) details!: Record<string, unknown>;
}

export class WebhookAckDto {
  @ApiProperty({ description: 'the LiveKit event name' }) event!: string;
  @ApiProperty({ enum: ['applied', 'ignored', 'duplicate'] }) outcome!: string;
}

/**
 * The Authorization header a handler reads itself (@Headers): optional in the description, as it is
 * (without it the answer is a documented 401 where one is needed).
 */
export const ApiOptionalAuthorization = (description: string) => ApiHeader({ name: 'authorization', required: false, description });

/** Operators' endpoints: the admin token (see --admin-token). */
export const ApiOperator = () => ApiBearerAuth('admin');

/** /api/docs (Swagger UI) and /api/docs-json, for anyone: they describe the API, not its data. */
export function serveApiDocs(app: NestExpressApplication, version: string): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('session-rebuilder')
      .setDescription('Keeps LiveKit sessions alive when a media node dies: tokens, rejoins, node health. Sockets (/session, socket.io) are described in the README.')
      .setVersion(version)
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'the --admin-token' }, 'admin')
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'a join token your app signed with the --auth-secret' }, 'join')
      .build(),
  );
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs-json' });
}
