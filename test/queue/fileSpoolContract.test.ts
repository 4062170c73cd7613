import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { createLogger } from '../../src/log.js';
import type { ClaimHolder } from '../../src/queue/messageQueue.js';
import { Spool } from '../../src/queue/spool.js';
import { messageQueueContract } from './messageQueueContract.js';

const logger = createLogger('silent');

messageQueueContract(t, 'the file spool', {
  open: (dir) => Spool.open(dir, logger),
  // what a relay on another host leaves that judged the lock stale, broke it and took it
  async takeOver(dir, id) {
    const holder: ClaimHolder = { pid: process.ppid, host: 'relay-b', token: randomBytes(8).toString('hex'), since: new Date().toISOString() };
    await writeFile(join(dir, 'lock', `${id}.lock`), JSON.stringify(holder));
    return holder;
  },
});
