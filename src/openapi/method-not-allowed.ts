import type { OpenAPIObject } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import { sendApiError } from '../common/api-error';
import { operationsOf } from './api-document';

interface DocumentedPath {
  /** Matched as Express matches routes: any case, an optional trailing slash. */
  pattern: RegExp;
  methods: ReadonlySet<string>;
  allow: string;
}

/** `/api/sessions/{sessionId}/participants` as a pattern: each parameter one path segment. */
function patternOf(template: string): RegExp {
  const parts = template.split(/\{[^}]+\}/).map((literal) => literal.replace(/[.*+?^$()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('[^/]+')}/?$`, 'i');
}

/**
 * A documented path asked with a method it does not serve answers 405 with `Allow` (RFC 9110), and
 * OPTIONS answers 204 with the same `Allow`; Express alone answers 404 to both. Unknown paths keep their
 * 404. HEAD comes with every GET (Express serves it from the GET route).
 */
export function methodNotAllowed(document: OpenAPIObject): (req: Request, res: Response, next: NextFunction) => void {
  const paths: DocumentedPath[] = Object.entries(document.paths).map(([template, item]) => {
    const methods = operationsOf(item).map(([method]) => method.toUpperCase());
    if (methods.includes('GET') && !methods.includes('HEAD')) methods.push('HEAD');
    if (!methods.includes('OPTIONS')) methods.push('OPTIONS');
    return { pattern: patternOf(template), methods: new Set(methods), allow: methods.join(', ') };
  });
  return (req, res, next) => {
    const path = paths.find((candidate) => candidate.pattern.test(req.path));
    if (!path || (path.methods.has(req.method) && req.method !== 'OPTIONS')) return next();
    res.setHeader('Allow', path.allow);
    if (req.method === 'OPTIONS') {
      res.status(204).end();
      return;
    }
    sendApiError(res, 405, `${req.method} is not served here; ${req.path} answers ${path.allow}`);
  };
}
