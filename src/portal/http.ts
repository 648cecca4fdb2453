import type { IncomingMessage, ServerResponse } from 'node:http';

import { SECURITY_HEADERS } from './security.js';

/** A refusal the portal answers with: a status, a stable code, and a message safe to show. */
export class PortalError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'PortalError';
    this.status = status;
    this.code = code;
  }
}

/** A JSON body with a status other than 200 (a 201 after a create). */
export class Reply {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {}
}

/** Bodies larger than this are refused: the portal's forms are small. */
const MAX_BODY_BYTES = 64 * 1024;

/** Writes the portal's headers and then the body; every response goes through here. */
export function send(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string | Buffer,
  extra: Record<string, string | string[]> = {},
): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    ...extra,
  });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(body));
}

export function sendError(res: ServerResponse, error: PortalError): void {
  sendJson(res, error.status, { error: { code: error.code, message: error.message } });
}

/** Reads a JSON object body; refuses other types, oversized bodies and non-objects. */
export async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new PortalError(415, 'unsupported_media_type', 'Send the body as application/json.');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES)
      throw new PortalError(413, 'body_too_large', 'The body is too large.');
    chunks.push(chunk);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch {
    throw new PortalError(400, 'bad_request', 'The body is not valid JSON.');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new PortalError(400, 'bad_request', 'The body must be a JSON object.');
  }
  return value as Record<string, unknown>;
}

/** An optional string field of a body; a usage error names the field. */
export function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') {
    throw new PortalError(400, 'bad_request', `${field}: expected a string.`);
  }
  return value.trim() === '' ? undefined : value.trim();
}

export function requiredString(body: Record<string, unknown>, field: string): string {
  const value = optionalString(body, field);
  if (value === undefined) throw new PortalError(400, 'bad_request', `${field}: required.`);
  return value;
}
