/**
 * The `shardgate` command line. Exit codes: 0 done, 1 a runtime failure (cannot listen, crash),
 * 2 a usage or configuration error. Errors are one line naming the flag or field, the value and
 * what is allowed; never a stack trace.
 *
 * `serve`, `directory`, `plan` and `demo` load their modules when run, so that `--help` and flag errors answer without
 * loading the data plane.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { loadConfig } from '../config/config.js';
import type { LoadOptions, ShardgateConfig } from '../config/config.js';
import { ConfigError, ShardgateError } from '../errors.js';
import { attributeName, flagLayer, SERVE_FLAGS } from './flags.js';
import { algorithmsHelp, DIRECTORY_EXAMPLE, KEY_SOURCES_HELP, LOCALITY_HELP, PLAN_EXAMPLE, SERVE_EXAMPLE } from './help.js';

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

  const serve = configCommand(program, 'serve', 'run the proxy: route every request to an endpoint chosen by the balancer', output);
  serve.addHelpText('after', `\n${algorithmsHelp()}\n\n${KEY_SOURCES_HELP}\n\n${LOCALITY_HELP}\n\nExample:\n  ${SERVE_EXAMPLE}\n`);
  serve.addOption(new Option('--check', 'validate the configuration, print it resolved, and exit (as shardgate check)'));
  serve.action(async () => {
    if (serve.opts<{ check?: boolean }>().check === true) {
      const { runCheck } = await import('./check.js');
      setExitCode(await runCheck(commandLoadOptions(serve), io));
      return;
    }
    const options = commandLoadOptions(serve);
    const config = await loadConfig(options);
    const { runServe } = await import('./serve.js');
    // With a config file, the file is read again on change and SIGHUP (hot reload), the same flags over it.
    const reload = options.configFile === undefined ? null : { file: options.configFile, load: () => loadConfig(options) };
    setExitCode(await runServe(config, reload));
  });

  const check = configCommand(program, 'check', 'validate a configuration without starting: print it resolved (YAML), or every error by its path (exit 2); warnings for what is valid but surely wrong', output);
  check.addHelpText('after', `
Takes the same --config and flags as serve, and checks what serve would run with.

Example:
  shardgate check --config shardgate.yaml
`);
  check.action(async () => {
    const { runCheck } = await import('./check.js');
    setExitCode(await runCheck(commandLoadOptions(check), io));
  });

  const directory = configCommand(program, 'directory', 'run the look-aside directory: answer which pod owns a key (GET /v1/owner?key=K), plans and the ownership stream, on --listen', output);
  directory.addHelpText('after', `\nThe same config and discovery flags as serve; --listen is where the directory answers.\n\nExample:\n  ${DIRECTORY_EXAMPLE}\n`);
  directory.action(async () => {
    const config = await commandConfig(directory);
    const { runDirectory } = await import('./directory.js');
    setExitCode(await runDirectory(config));
  });

  // Its --replicas is the planned count, so the serve flag of that name (ordinal's current count) is left to the config file.
  const plan = configCommand(program, 'plan', 'show which fraction of the keys a scale change moves, from which pod to which, before it is made', output, ['--replicas <n>'])
    .addOption(new Option('--add <name>', 'a pod that would join (repeatable)').argParser(collect))
    .addOption(new Option('--remove <name>', 'a pod that would leave (repeatable)').argParser(collect))
    .addOption(new Option('--drain <name>', 'a pod that would be marked terminating (repeatable)').argParser(collect))
    .addOption(new Option('--replicas <n>', "the StatefulSet's new replica count (pods NAME-<ordinal>)"))
    .addOption(new Option('--weight <w>', 'weight of the pods added'))
    .addOption(new Option('--json', 'print the JSON answer of GET /v1/plan instead of the table'));
  plan.addHelpText('after', `\nExample:\n  ${PLAN_EXAMPLE}\n`);
  plan.action(async () => {
    const config = await commandConfig(plan, ['--replicas <n>']);
    const o = plan.opts<{ add?: string[]; remove?: string[]; drain?: string[]; replicas?: string; weight?: string; json?: boolean }>();
    const { runPlan } = await import('./plan.js');
    const input = { add: o.add ?? [], remove: o.remove ?? [], drain: o.drain ?? [], replicas: o.replicas ?? null, weight: o.weight ?? null };
    setExitCode(await runPlan(config, { input, json: o.json === true, out: io.stdout, err: io.stderr }));
  });

  program
    .command('demo')
    .description('show the problem and the fix on 4 local pods: connection vs request balancing, key affinity')
    .configureOutput(output)
    .exitOverride()
    .option('--serve', 'keep the demo pods, proxy and directory running afterwards, for curl and the examples in examples/')
    .option('--port <port>', 'with --serve: the proxy port to try first (taken: an ephemeral one)', '8080')
    .option('--admin-port <port>', 'with --serve: the port of the admin listener (directory and probes) to try first', '9901')
    .option('--dir <path>', 'with --serve: where the endpoints file and demo.json go (default: $TMPDIR/shardgate-demo)')
    .action(async (options: { serve?: boolean; port: string; adminPort: string; dir?: string }) => {
      const port = demoPort(options.port, '--port');
      const adminPort = demoPort(options.adminPort, '--admin-port');
      const { runDemo } = await import('../demo/demo.js');
      await runDemo({ serve: options.serve === true, out: io.stdout, port, adminPort, ...(options.dir === undefined ? {} : { dir: options.dir }) });
    });

  return program;
}

/** @throws ConfigError naming the flag when `text` is not a port */
function demoPort(text: string, flag: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 0 && port <= 65_535)) throw new ConfigError('SG_ERR_CONFIG', flag, `is ${JSON.stringify(text)}: give a port from 0 to 65535 (0: any free port)`);
  return port;
}

type Output = { writeOut(s: string): void; writeErr(s: string): void };

/** A command that takes `--config` and the serve flags (but `except`). */
function configCommand(program: Command, name: string, description: string, output: Output, except: readonly string[] = []): Command {
  const command = program.command(name).description(description).configureOutput(output).exitOverride().showSuggestionAfterError().addOption(new Option('--config <file>', 'YAML config file; flags override its settings'));
  for (const spec of SERVE_FLAGS) {
    if (except.includes(spec.syntax)) continue;
    const option = new Option(spec.syntax, spec.description);
    if (spec.repeatable === true) option.argParser(collect);
    // Shown by --help only: the action takes values whose source is 'cli', and the config fills in the rest.
    if (spec.shownDefault !== undefined) option.default(spec.shownDefault);
    command.addOption(option);
  }
  return command;
}

/** The config file and the serve flags given on the command line, parsed into one config. */
async function commandConfig(command: Command, except: readonly string[] = []): Promise<ShardgateConfig> {
  return loadConfig(commandLoadOptions(command, except));
}

/** Where the command's configuration comes from: its config file and the flags given. */
function commandLoadOptions(command: Command, except: readonly string[] = []): LoadOptions {
  const given = new Map<string, unknown>();
  for (const spec of SERVE_FLAGS) {
    if (except.includes(spec.syntax)) continue;
    const attr = attributeName(spec);
    if (command.getOptionValueSource(attr) === 'cli') given.set(attr, command.getOptionValue(attr));
  }
  const configFile = command.getOptionValue('config') as string | undefined;
  return { configFile, flags: flagLayer(given) };
}

function collect(value: string, previous: unknown): string[] {
  return [...(Array.isArray(previous) ? (previous as string[]) : []), value];
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
