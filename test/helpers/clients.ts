import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import { checkServerIdentity, connect as tlsConnect, type TLSSocket } from 'node:tls';

/** Runs curl and collects what it printed. */
export async function curl(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runProcess('curl', ['-sS', '--max-time', '20', ...args], env);
}

/** Runs a Python snippet with python3 (requests installed). */
export async function python(
  code: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runProcess('python3', ['-c', code], env);
}

export async function runProcess(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  input?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(file, args, {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(input ?? '');
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

/** Opens a raw TCP connection to the proxy. */
export async function rawConnection(proxyUrl: string): Promise<Socket> {
  const url = new URL(proxyUrl);
  const socket = netConnect({ host: url.hostname, port: Number(url.port) });
  await once(socket, 'connect');
  return socket;
}

/** Reads from a socket until it closes; resolves with everything it sent. */
export async function readUntilClose(socket: Socket | TLSSocket): Promise<string> {
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  socket.on('error', () => undefined);
  await once(socket, 'close');
  return text;
}

/** Reads from a socket until `marker` appears in what arrived. */
export async function readUntil(socket: Socket | TLSSocket, marker: string): Promise<string> {
  let text = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      text += d.toString('latin1');
      if (text.includes(marker)) {
        socket.off('data', onData);
        resolve(text);
      }
    };
    socket.on('data', onData);
    socket.once('close', () =>
      reject(new Error(`closed before ${JSON.stringify(marker)}; got ${JSON.stringify(text)}`)),
    );
  });
}

/**
 * Sends CONNECT through the proxy and, on 200, starts TLS inside the tunnel.
 * Resolves with the TLS socket once the handshake is done.
 */
export async function connectThrough(
  proxyUrl: string,
  authority: string,
  tls: { ca: string[]; servername: string; identity?: string },
): Promise<TLSSocket> {
  const socket = await rawConnection(proxyUrl);
  const url = new URL(proxyUrl);
  const credentials = url.username
    ? `Proxy-Authorization: Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}\r\n`
    : '';
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${credentials}\r\n`);
  const head = await readUntil(socket, '\r\n\r\n');
  if (!head.startsWith('HTTP/1.1 200')) throw new Error(`CONNECT failed: ${head}`);
  const identity = tls.identity ?? tls.servername;
  const secure = tlsConnect({
    socket,
    ca: tls.ca,
    servername: tls.servername,
    checkServerIdentity: (_host, cert) => checkServerIdentity(identity, cert),
  });
  await once(secure, 'secureConnect');
  return secure;
}
