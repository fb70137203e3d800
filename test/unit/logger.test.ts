import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger, LOG_LEVELS, type LogLevel } from '../../src/util/logger.js';

describe('createLogger levels', () => {
  const logAt = (level: LogLevel): { lines: string[]; logger: ReturnType<typeof createLogger> } => {
    const lines: string[] = [];
    return { lines, logger: createLogger({ level, write: (line) => lines.push(line), now: () => 0 }) };
  };

  it('writes its level and the ones above it, and drops the ones below', () => {
    const { lines, logger } = logAt('warn');
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /level=warn msg=w/);
    assert.match(lines[1]!, /level=error msg=e/);
  });

  it('enabled() agrees with what is written, at every level, children included', () => {
    for (const [rank, level] of LOG_LEVELS.entries()) {
      const { logger } = logAt(level);
      const child = logger.child({ upstream: 'x' });
      for (const [other, asked] of LOG_LEVELS.entries()) {
        assert.equal(logger.enabled(asked), other <= rank, `${asked} at ${level}`);
        assert.equal(child.enabled(asked), other <= rank, `${asked} at ${level}, child`);
      }
    }
  });
});
