import { ErrorCode, McpError, type LoggingLevel, type LoggingMessageNotification } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { Logger } from '../core/logger.js';
import { redact } from '../core/secrets.js';

/** The MCP log levels (RFC 5424 severities), least severe first. */
export const LOG_LEVELS: readonly LoggingLevel[] = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];

/** What a client hears before it sends `logging/setLevel`: warnings and worse. */
export const DEFAULT_CLIENT_LEVEL: LoggingLevel = 'warning';

/** `logging/setLevel` with any level, so that an unknown one is refused as invalid params naming the field (the SDK's schema fails it as an internal error). */
export const SetLevelRequest = z.object({ method: z.literal('logging/setLevel'), params: z.looseObject({ level: z.string() }) });

type Send = (params: LoggingMessageNotification['params']) => Promise<void>;

/** One MCP session's logger: each line goes where the server's own log goes, and to the client as notifications/message when at or above the level the client set. */
export interface SessionLog {
  logger: Logger;
  /** Throws invalid params for a level that is not one of LOG_LEVELS. */
  setLevel(level: string): void;
  /** Where notifications go once the MCP server exists; until then lines reach only the server's log. */
  attach(send: Send): void;
}

export function sessionLog(base: Logger, name = 'factory-mcp'): SessionLog {
  let threshold = LOG_LEVELS.indexOf(DEFAULT_CLIENT_LEVEL);
  let send: Send | undefined;
  const notify = (level: LoggingLevel, msg: string) => {
    if (!send || LOG_LEVELS.indexOf(level) < threshold) return;
    // Secrets redacted as in the server's log; a stack's frames stay there, the client gets the message.
    const data = redact(msg)
      .split('\n')
      .filter((line) => !/^\s+at /.test(line))
      .join('\n');
    send({ level, logger: name, data }).catch(() => undefined); // a client that is gone misses the line
  };
  const at = (level: LoggingLevel, write: (msg: string) => void) => (msg: string) => {
    write(msg);
    notify(level, msg);
  };
  return {
    logger: { info: at('info', (m) => base.info(m)), warn: at('warning', (m) => base.warn(m)), error: at('error', (m) => base.error(m)) },
    setLevel(level) {
      const i = LOG_LEVELS.indexOf(level as LoggingLevel);
      if (i < 0) throw new McpError(ErrorCode.InvalidParams, `level: expected one of ${LOG_LEVELS.join(', ')}; got ${JSON.stringify(level)}`);
      threshold = i;
    },
    attach(s) {
      send = s;
    },
  };
}
