// What the controllers say about themselves for the OpenAPI description: the error answers, and who may
// call. Who may call is stated for the strictest configuration; the document served is narrowed to the
// configuration that runs (api-document.ts).
import { applyDecorators } from '@nestjs/common';
import {
  ApiExtraModels,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  ApiSecurity,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import type { ApiErrorBody } from '../contracts';

/** The security schemes of the description (components.securitySchemes). */
export const SECURITY = {
  /** The --admin-token, as a bearer token. */
  admin: 'admin',
  /** A join token the developer's app signed with the --auth-secret. */
  join: 'join',
  /** LiveKit's webhook signature: a JWT in Authorization, without a scheme word. */
  livekit: 'livekit-webhook',
} as const;

/** The tag of the sample app's demo tools, which exist only in dev mode. */
export const DEV_TOOLS_TAG = 'dev tools';

export class ApiErrorDto implements ApiErrorBody {
  @ApiProperty({ type: 'integer', example: 400 })
  statusCode!: number;
  @ApiProperty({ example: 'Bad Request' })
  error!: string;
  @ApiProperty({ example: 'invalid name: name must be 1-64 printable characters' })
  message!: string;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'array', items: { type: 'string' } },
    description: 'every failing field, for a 400',
  })
  details?: Record<string, string[]>;
}

export const ERROR_MEANINGS: Readonly<Record<number, string>> = {
  400: 'invalid input: every failing field is named',
  401: 'missing or wrong credentials',
  403: 'the join token does not cover this session',
  404: 'no such session or participant',
  409: 'the session is full',
  413: 'the body is too large',
  429: 'over --rate-limit for this address, or too many participants of the session have not connected yet; see Retry-After',
  502: 'a media node failed the call',
  503: 'no media node is up, the store is unreachable, or the instance is shutting down',
};

/** The response object of an error answer: ApiErrorBody, as JSON even where the success answer is not (/metrics). */
export function errorResponse(description: string) {
  return { description, content: { 'application/json': { schema: { $ref: getSchemaPath(ApiErrorDto) } } } };
}

/** The error answers of an operation, each with ApiErrorBody; `meanings` where the general one says too little. */
export function ApiErrors(statuses: number[], meanings: Record<number, string> = {}): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiExtraModels(ApiErrorDto),
    ...statuses.map((status) =>
      ApiResponse({ status, ...errorResponse(meanings[status] ?? ERROR_MEANINGS[status] ?? 'error') }),
    ),
  );
}

/**
 * Operators' endpoints: the admin token. Without one, the served description shows them open in dev mode
 * and leaves them out elsewhere (they answer 404 there).
 */
export const ApiOperator = () => applyDecorators(ApiExtraModels(ApiErrorDto), ApiSecurity(SECURITY.admin));

/** Joins: a join token with --auth-secret (or the admin token); without it, anyone with the link. */
export const ApiJoin = () => applyDecorators(ApiExtraModels(ApiErrorDto), ApiSecurity(SECURITY.join));

/** The sample app's demo buttons: operators' endpoints that exist only in dev mode. */
export const ApiDevTool = () => applyDecorators(ApiTags(DEV_TOOLS_TAG), ApiOperator());

/** LiveKit's signature over the body, in Authorization. */
export const ApiWebhookSignature = () => applyDecorators(ApiExtraModels(ApiErrorDto), ApiSecurity(SECURITY.livekit));
