/**
 * What `shardgate serve --workers N` runs, as a process of its own for workers.test.ts: the config
 * document and the worker count come as JSON in argv[2]; logs go to stdout as JSON lines; the exit
 * code is runWorkers'.
 */
import { pino } from 'pino';
import { runWorkers } from '../../src/cluster/workers.js';
import { parseConfig } from '../../src/config/config.js';

const { document, workers } = JSON.parse(process.argv[2]!) as { document: unknown; workers: number };
const logger = pino({ level: 'info' }, pino.destination({ dest: 1, sync: true }));
const code = await runWorkers(parseConfig(document), workers, logger);
process.exit(code);
