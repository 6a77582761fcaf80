/**
 * The `shardgate` command line. Exit codes: 0 done, 1 a runtime failure (cannot listen, crash),
 * 2 a usage or configuration error. Errors are one line naming the flag or field, the value and
 * what is allowed; never a stack trace.
 *
 * `serve` and `demo` load their modules when run, so that `--help` and flag errors answer without
 * loading the data plane.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { loadConfig } from '../config/config.js';
import { ConfigError, ShardgateError } from '../errors.js';
import { attributeName, flagLayer, SERVE_FLAGS } from './flags.js';
import { algorithmsHelp, KEY_SOURCES_HELP, LOCALITY_HELP, SERVE_EXAMPLE } from './help.js';

export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Runs the command line `args` (without node and script) and resolves to the exit code. */
export async function runCli(args: readonly string[], io: CliIo): Promise<number> {
  let code = EXIT_OK;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync([...args], { from: 'user' });
    return code;
  } catch (e) {
    // Commander has printed its own message (or the help) already.
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    if (e instanceof ShardgateError) {
      io.stderr.write(`error: ${e.message}\n`);
      return e instanceof ConfigError ? EXIT_USAGE : EXIT_FAILURE;
    }
    io.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT_FAILURE;
  }
}

function buildProgram(io: CliIo, setExitCode: (code: number) => void): Command {
  const program = new Command('shardgate');
  const output = {
    writeOut: (s: string) => io.stdout.write(s),
    writeErr: (s: string) => io.stderr.write(s),
  };
  program
    .description('Per-request L7 load balancing and key sharding for Kubernetes StatefulSets.')
    .version(packageVersion(), '-V, --version')
    .configureOutput(output)
    .exitOverride()
    .showSuggestionAfterError()
    .addHelpText('after', `\n${algorithmsHelp()}\n\n${KEY_SOURCES_HELP}\n\n${LOCALITY_HELP}\n\nExample:\n  ${SERVE_EXAMPLE}\n`);

  const serve = program
    .command('serve')
    .description('run the proxy: route every request to an endpoint chosen by the balancer')
    .configureOutput(output)
    .exitOverride()
    .showSuggestionAfterError()
    .addOption(new Option('--config <file>', 'YAML config file; flags override its settings'));
  for (const spec of SERVE_FLAGS) {
    const option = new Option(spec.syntax, spec.description);
    if (spec.repeatable === true) option.argParser((value: string, previous: unknown) => [...(Array.isArray(previous) ? (previous as string[]) : []), value]);
    // Shown by --help only: the action takes values whose source is 'cli', and the config fills in the rest.
    if (spec.shownDefault !== undefined) option.default(spec.shownDefault);
    serve.addOption(option);
  }
  serve.addHelpText('after', `\n${algorithmsHelp()}\n\n${KEY_SOURCES_HELP}\n\n${LOCALITY_HELP}\n\nExample:\n  ${SERVE_EXAMPLE}\n`);
  serve.action(async () => {
    const given = new Map<string, unknown>();
    for (const spec of SERVE_FLAGS) {
      const attr = attributeName(spec);
      if (serve.getOptionValueSource(attr) === 'cli') given.set(attr, serve.getOptionValue(attr));
    }
    const configFile = serve.getOptionValue('config') as string | undefined;
    const config = await loadConfig({ configFile, flags: flagLayer(given) });
    const { runServe } = await import('./serve.js');
    setExitCode(await runServe(config));
  });

  program
    .command('demo')
    .description('show the problem and the fix on 4 local pods: connection vs request balancing, key affinity')
    .configureOutput(output)
    .exitOverride()
    .option('--serve', 'keep the demo pods and proxy running afterwards, to try by hand')
    .action(async (options: { serve?: boolean }) => {
      const { runDemo } = await import('../demo/demo.js');
      await runDemo({ serve: options.serve === true, out: io.stdout });
    });

  return program;
}

function packageVersion(): string {
  try {
    // dist/src/cli/program.js -> package.json at the package root.
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    // Only --version reads this; a package without its package.json must still run.
    return '0.0.0';
  }
}
