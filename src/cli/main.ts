/**
 * The `shardgate` executable's entry point (bin/shardgate.js imports it): runs the command line and
 * exits with its code once stdout and stderr have taken everything written to them.
 */
import { runCli } from './program.js';

const code = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
process.stdout.write('', () => {
  process.stderr.write('', () => process.exit(code));
});
