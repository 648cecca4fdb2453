import type { IncomingMessage, ServerResponse } from 'node:http';

import type { AuditLog } from '../audit/audit-log.js';
import type { AuditRecord } from '../audit/record.js';
import { statusFor, type ErrorCode } from '../errors.js';
import type { CallInfo, Decision, GrantGate } from '../grants/gate.js';
import { applyInjection } from '../grants/inject.js';
import type { KeyLimiter } from '../grants/limits.js';
import { elapsedMs, type RequestContext } from './context.js';
import { forwardRequest, refuse, type Finished } from './forward.js';
import type { Upstream } from './upstream.js';

export const PROXY_AUTHENTICATE = { 'Proxy-Authenticate': 'Basic realm="grantd"' };

export interface GrantFlowDeps {
  gate: GrantGate;
  limiter: KeyLimiter;
  audit: AuditLog;
  upstream: Upstream;
  /** `audit.mode: required`: answer only once the row is committed. */
  auditRequired: boolean;
}

/**
 * Serves one request that may use a grant: asks the gate, then forwards the
 * call untouched, refuses it, or forwards it with the credential injected.
 * Every refusal and every call that used a grant leaves an audit row.
 */
export async function serveThroughGate(
  ctx: RequestContext,
  req: IncomingMessage,
  res: ServerResponse,
  deps: GrantFlowDeps,
  call: CallInfo,
): Promise<void> {
  const keyId = call.identity.caller?.keyId;
  if (keyId !== undefined && deps.limiter.enabled) {
    const admission = deps.limiter.admit(keyId);
    if (!admission.admitted) {
      refuseLimited(ctx, res, deps, call, admission.retryAfterS);
      return;
    }
    res.once('close', admission.release);
  }

  let decision: Decision;
  try {
    decision = await deps.gate.decide(call);
  } catch (error) {
    ctx.log.error({ err: error, reqId: ctx.id }, 'grant decision failed');
    decision = { kind: 'refuse', code: 'internal_error' };
  }
  if (res.destroyed) return;
  if (decision.kind === 'pass') {
    forwardRequest(ctx, req, res, deps.upstream);
    return;
  }

  const base = auditBase(ctx, call, decision);
  ctx.logFields = { app: base.app, grant: base.grantId, provider: base.provider };

  if (decision.kind === 'refuse') {
    if (decision.code === 'vault_unavailable') ctx.metrics?.vaultErrors.inc();
    let code: ErrorCode = decision.code;
    let message = decision.message;
    if (
      deps.auditRequired &&
      !commit(deps, ctx, { ...base, status: statusFor(code), outcome: code })
    ) {
      code = 'audit_unavailable';
      message = undefined;
    }
    refuse(ctx, res, code, {
      message,
      headers: code === 'proxy_auth_required' ? PROXY_AUTHENTICATE : undefined,
      onFinished: (finished) => {
        if (!deps.auditRequired) deps.audit.record(row(base, finished));
      },
    });
    return;
  }

  const { inject, token } = decision;
  forwardRequest(ctx, req, res, deps.upstream, {
    guarded: true,
    rewrite: (headers, path) => applyInjection(headers, path, inject, token),
    retryUnauthorized: async () => {
      const fresh = await deps.gate.tokenAfter401(decision);
      if (fresh === undefined) return undefined;
      base.refreshed = true;
      return (headers, path) => applyInjection(headers, path, inject, fresh);
    },
    beforeRespond: deps.auditRequired
      ? (status) =>
          commit(deps, ctx, { ...base, status, outcome: 'ok' }) ? undefined : 'audit_unavailable'
      : undefined,
    onFinished: (finished) => {
      if (!deps.auditRequired) deps.audit.record(row(base, finished));
    },
  });
}

/** 429 with Retry-After: the key is over its rate or concurrency limit. */
function refuseLimited(
  ctx: RequestContext,
  res: ServerResponse,
  deps: GrantFlowDeps,
  call: CallInfo,
  retryAfterS: number,
): void {
  const base = auditBase(ctx, call, { kind: 'refuse', code: 'rate_limited' });
  ctx.logFields = { app: base.app };
  if (deps.auditRequired) {
    const committed = commit(deps, ctx, { ...base, status: 429, outcome: 'rate_limited' });
    refuse(ctx, res, committed ? 'rate_limited' : 'audit_unavailable', {
      headers: committed ? { 'Retry-After': String(retryAfterS) } : undefined,
    });
    return;
  }
  refuse(ctx, res, 'rate_limited', {
    headers: { 'Retry-After': String(retryAfterS) },
    onFinished: (finished) => deps.audit.record(row(base, finished)),
  });
}

type AuditBase = Omit<AuditRecord, 'status' | 'outcome' | 'durationMs' | 'bytesIn' | 'bytesOut'>;

function auditBase(
  ctx: RequestContext,
  call: CallInfo,
  decision: Exclude<Decision, { kind: 'pass' }>,
): AuditBase {
  const caller = call.identity.caller;
  const grant = decision.grant;
  return {
    ts: Date.now(),
    requestId: ctx.id,
    app: caller?.appName ?? grant?.appName,
    keyId: caller?.keyId,
    grantId: grant?.id,
    provider: grant?.provider,
    principal: grant?.principal,
    method: ctx.method,
    host: ctx.target.host,
    path: ctx.pathForLog,
    refreshed: decision.kind === 'inject' && decision.refreshed,
  };
}

function row(base: AuditBase, finished: Finished): AuditRecord {
  return {
    ts: base.ts,
    requestId: base.requestId,
    app: base.app,
    keyId: base.keyId,
    grantId: base.grantId,
    provider: base.provider,
    principal: base.principal,
    method: base.method,
    host: base.host,
    path: base.path,
    status: finished.status,
    outcome: finished.outcome,
    refreshed: base.refreshed,
    durationMs: finished.durationMs,
    bytesIn: finished.bytesIn,
    bytesOut: finished.bytesOut,
  };
}

/** Writes a row now, for `audit.mode: required`; false when it could not be. */
function commit(
  deps: GrantFlowDeps,
  ctx: RequestContext,
  partial: AuditBase & { status: number; outcome: string },
): boolean {
  try {
    deps.audit.recordNow({
      ...partial,
      durationMs: elapsedMs(ctx.startedAt),
      bytesIn: 0,
      bytesOut: 0,
    });
    return true;
  } catch (error) {
    ctx.log.error(
      { err: error, reqId: ctx.id },
      'audit row not committed; refusing (audit.mode: required)',
    );
    return false;
  }
}
