import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

import { ERROR_CATALOG, type ErrorCode } from '../errors.js';

export const REQUEST_ID_HEADER = 'Grantd-Request-Id';
export const ERROR_HEADER = 'Grantd-Error';

function errorBody(code: ErrorCode, requestId: string, message?: string): string {
  return JSON.stringify({
    error: { code, message: message ?? ERROR_CATALOG[code].message, request_id: requestId },
  });
}

/**
 * Answers with one of grantd's own errors. The message must be fit for the
 * client: internal detail is logged by the caller, never sent.
 */
export function sendError(
  res: ServerResponse,
  code: ErrorCode,
  requestId: string,
  options: {
    message?: string | undefined;
    headers?: Record<string, string> | undefined;
    close?: boolean;
  } = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = errorBody(code, requestId, options.message);
  res.writeHead(ERROR_CATALOG[code].status, {
    ...options.headers,
    [ERROR_HEADER]: code,
    [REQUEST_ID_HEADER]: requestId,
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    ...(options.close ? { Connection: 'close' } : {}),
  });
  res.end(body);
}

/**
 * Writes an error straight onto a socket that has no ServerResponse: the
 * answer to a CONNECT, or to bytes the HTTP parser rejected. Closes after.
 */
export function writeRawError(
  socket: Duplex,
  code: ErrorCode,
  requestId: string,
  options: { status?: number; message?: string; headers?: Record<string, string> } = {},
): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const status = options.status ?? ERROR_CATALOG[code].status;
  const body = errorBody(code, requestId, options.message);
  const extra = Object.entries(options.headers ?? {})
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\n` +
      `${ERROR_HEADER}: ${code}\r\n${REQUEST_ID_HEADER}: ${requestId}\r\n${extra}` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Connection: close\r\n\r\n${body}`,
  );
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};
