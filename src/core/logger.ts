import { redact } from './secrets.js';

/** Logs go to stderr only: stdout belongs to the MCP stdio transport. */
export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export function stderrLogger(prefix = 'factory-mcp', quiet = process.env.FACTORY_LOG === 'silent'): Logger {
  const write = (level: string, msg: string) => {
    if (!quiet) process.stderr.write(`${new Date().toISOString()} ${prefix} ${level} ${redact(msg)}\n`); // no secret value in a log line
  };
  return { info: (m) => write('info', m), warn: (m) => write('warn', m), error: (m) => write('error', m) };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
