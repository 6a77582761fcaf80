import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { descendants, parseProcStat, parseVmRssBytes, sampleTree } from '../../../bench/common/process-tree.js';

test('parseProcStat: pid, ppid and utime + stime, counted from the last ")" of the command name', () => {
  // A name with a space and a ")" in it, as a thread or process may call itself.
  const line = '4242 (web (1) x) S 4200 4242 4242 0 -1 4194560 1234 0 0 0 150 37 0 0 20 0 11 0 123456 1100000000 20000 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0';
  assert.deepEqual(parseProcStat(line), { pid: 4242, ppid: 4200, cpuTicks: 187 });
});

test('parseProcStat: a line that is not /proc/PID/stat is an error', () => {
  assert.throws(() => parseProcStat('hello'), /not a \/proc\/PID\/stat line/);
});

test('parseVmRssBytes: kB to bytes; 0 without the line (a zombie)', () => {
  assert.equal(parseVmRssBytes('Name:\tnode\nVmPeak:\t  900 kB\nVmRSS:\t   51200 kB\nRssAnon:\t 100 kB\n'), 51200 * 1024);
  assert.equal(parseVmRssBytes('Name:\tnode\nState:\tZ (zombie)\n'), 0);
});

test('descendants: the root, then its children and theirs; unrelated processes left out', () => {
  const stat = (pid: number, ppid: number) => ({ pid, ppid, cpuTicks: 0 });
  const all = [stat(1, 0), stat(10, 1), stat(11, 10), stat(12, 10), stat(13, 12), stat(20, 1), stat(21, 20)];
  assert.deepEqual(descendants(10, all), [10, 11, 12, 13]);
  assert.deepEqual(descendants(99, all), [99]);
});

test('sampleTree: counts a child process and its memory with this one', async (t) => {
  const child = spawn(process.execPath, ['-e', 'const b = Buffer.alloc(64 << 20, 1); setInterval(() => b[0]++, 1000)'], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  await once(child, 'spawn');
  // Until the child has filled its buffer, its RSS is small.
  let s = sampleTree(process.pid);
  for (let i = 0; i < 100 && s.rssBytes - process.memoryUsage().rss < 60 << 20; i++) {
    await new Promise((r) => setTimeout(r, 50));
    s = sampleTree(process.pid);
  }
  assert.ok(s.pids.includes(child.pid!), `child ${child.pid} not in ${s.pids.join(' ')}`);
  assert.ok(s.rssBytes >= process.memoryUsage().rss + (60 << 20), `tree RSS ${s.rssBytes} lacks the child's 64 MB`);
  assert.ok(s.cpuUs > 0);
});
