import assert from 'node:assert/strict';
import { test } from 'node:test';
import { h2loadArgs, h2loadResult, parseH2loadLog, parseH2loadSummary } from '../../bench/proxy/h2load.js';

/** h2load 1.52.0's output, -D 1 against a node:http2 server, captured on loopback. */
const SAMPLE = `starting benchmark...
spawning thread #0: 1 total client(s). Timing-based test with 0s of warm-up time and 1s of main duration for measurements.
Warm-up started for thread #0.
progress: 100% of clients started
Warm-up phase is over for thread #0.
Main benchmark duration is started for thread #0.
Application protocol: h2c
Main benchmark duration is over for thread #0. Stopping all clients.
Stopped all clients for thread #0

finished in 1.00s, 19640.00 req/s, 594.63KB/s
requests: 19640 total, 19648 started, 19640 done, 19640 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 19640 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 594.63KB (608904) total, 38.40KB (39326) headers (space savings 95.34%), 38.36KB (39280) data
                     min         max         mean         sd        +/- sd
time for request:      176us      9.86ms       393us       595us    96.07%
time for connect:       68us        68us        68us         0us   100.00%
time to 1st byte:     5.55ms      5.55ms      5.55ms         0us   100.00%
req/s           :   19638.69    19638.69    19638.69        0.00   100.00%
`;

/** h2load against a port that does not speak h2c: nothing done. */
const REFUSED = `finished in 1.01s, 0.00 req/s, 47B/s
requests: 0 total, 8 started, 0 done, 0 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 0 2xx, 0 3xx, 0 4xx, 0 5xx
`;

test('parseH2loadSummary: duration and request counts', () => {
  assert.deepEqual(parseH2loadSummary(SAMPLE), { durationS: 1, done: 19640, succeeded: 19640, failed: 0, errored: 0, timeout: 0 });
  assert.equal(parseH2loadSummary(REFUSED).succeeded, 0);
});

test('parseH2loadSummary: a duration in ms is converted to seconds', () => {
  assert.equal(parseH2loadSummary(SAMPLE.replace('finished in 1.00s', 'finished in 923.50ms')).durationS, 0.9235);
});

test('parseH2loadSummary: output without a summary is an error quoting it', () => {
  assert.throws(() => parseH2loadSummary('connect to 127.0.0.1:1 failed\n'), /no summary[\s\S]*connect to/);
});

test('parseH2loadLog: response times of 2xx and 3xx lines, ascending; other statuses and junk ignored', () => {
  const log = ['1795473617861511\t200\t7004', '1795473617861513\t503\t1', '1795473617861513\t200\t63', 'garbage', '', '1795473617861514\t304\t500'].join('\n');
  assert.deepEqual([...parseH2loadLog(log)], [63, 500, 7004]);
});

test('h2loadResult: succeeded requests, percentiles from the log, failures and timeouts as errors', () => {
  const log = Array.from({ length: 100 }, (_, i) => `1\t200\t${(i + 1) * 10}`).join('\n');
  const failing = SAMPLE.replace('19640 succeeded, 0 failed, 0 errored, 0 timeout', '19600 succeeded, 40 failed, 30 errored, 2 timeout');
  assert.deepEqual(h2loadResult(failing, log), { requests: 19600, durationS: 1, p50Us: 500, p99Us: 990, errors: 42 });
});

test('h2loadArgs: one thread, connections, streams, duration, log file, headers, URL', () => {
  assert.deepEqual(h2loadArgs({ url: 'http://127.0.0.1:1/', connections: 1, streams: 64, durationS: 10, logFile: '/t/l.log' }), ['-t1', '-c1', '-m64', '-D', '10', '--log-file=/t/l.log', 'http://127.0.0.1:1/']);
});
