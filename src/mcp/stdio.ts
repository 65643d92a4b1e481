import process from 'node:process';
import type { Readable, Writable } from 'node:stream';
import { serializeMessage, STDIO_DEFAULT_MAX_BUFFER_SIZE } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, JSONRPCMessageSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/**
 * The stdio server transport, newline-delimited JSON-RPC like the SDK's StdioServerTransport, but a
 * bad line never ends the session: the SDK's reader closes the transport (and so the server) on a
 * message over its 10 MiB buffer. Here an oversized message is skipped up to its newline and
 * answered with an error naming the limit; a line that is not JSON or not JSON-RPC is answered too.
 */
export class StdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private chunks: Buffer[] = [];
  private size = 0;
  /** Inside a message already over the limit: drop bytes until its newline. */
  private skipping = false;
  private started = false;

  constructor(
    private readonly stdin: Readable = process.stdin,
    private readonly stdout: Writable = process.stdout,
    readonly maxMessageBytes = STDIO_DEFAULT_MAX_BUFFER_SIZE,
  ) {}

  async start(): Promise<void> {
    if (this.started) throw new Error('StdioTransport already started');
    this.started = true;
    this.stdin.on('data', this.ondata);
    this.stdin.on('error', this.onstreamerror);
  }

  private readonly onstreamerror = (e: Error) => this.onerror?.(e);

  private readonly ondata = (chunk: Buffer) => {
    let from = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, from)) {
      const part = chunk.subarray(from, nl);
      from = nl + 1;
      if (this.skipping) {
        this.skipping = false;
        continue;
      }
      if (this.size + part.length > this.maxMessageBytes) {
        this.reset();
        this.tooLarge();
        continue;
      }
      const line = this.size ? Buffer.concat([...this.chunks, part]) : part;
      this.reset();
      this.deliver(line.toString('utf8').replace(/\r$/, ''));
    }
    if (from >= chunk.length || this.skipping) return;
    const rest = chunk.subarray(from);
    if (this.size + rest.length > this.maxMessageBytes) {
      this.reset();
      this.skipping = true;
      this.tooLarge();
      return;
    }
    this.chunks.push(rest);
    this.size += rest.length;
  };

  private reset(): void {
    this.chunks = [];
    this.size = 0;
  }

  private tooLarge(): void {
    const message = `message over the stdio limit of ${this.maxMessageBytes} bytes (10 MiB): skipped; send smaller arguments (a git range instead of a diff)`;
    this.onerror?.(new Error(message));
    void this.reply(ErrorCode.InvalidRequest, message);
  }

  private deliver(line: string): void {
    if (!line.trim()) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return void this.reply(ErrorCode.ParseError, 'parse error: the line is not JSON');
    }
    const message = JSONRPCMessageSchema.safeParse(parsed);
    if (!message.success) {
      const id = (parsed as { id?: unknown } | null)?.id;
      return void this.reply(ErrorCode.InvalidRequest, 'invalid request: not a JSON-RPC 2.0 message', typeof id === 'string' || typeof id === 'number' ? id : null);
    }
    this.onmessage?.(message.data);
  }

  private reply(code: number, message: string, id: string | number | null = null): Promise<void> {
    return this.write(serializeMessage({ jsonrpc: '2.0', id, error: { code, message } } as unknown as JSONRPCMessage));
  }

  send(message: JSONRPCMessage): Promise<void> {
    return this.write(serializeMessage(message));
  }

  private write(text: string): Promise<void> {
    return new Promise((resolve) => {
      if (this.stdout.write(text)) resolve();
      else this.stdout.once('drain', resolve);
    });
  }

  async close(): Promise<void> {
    this.stdin.off('data', this.ondata);
    this.stdin.off('error', this.onstreamerror);
    if (this.stdin.listenerCount('data') === 0) this.stdin.pause();
    this.reset();
    this.onclose?.();
  }
}
