import type { Command } from './command.js';
import { clientCommands } from './client.js';
import { keysCommands } from './keys.js';
import { loginCommands } from './login.js';
import { samlAppCommands } from './saml-app.js';
import { startCommands } from './start.js';
import { storeCommands } from './store.js';
import { tenantCommands } from './tenant.js';
import { userCommands } from './user.js';

/** Every command, in the order the help lists them. */
export const commands: Command[] = [...startCommands, ...storeCommands, ...keysCommands, ...tenantCommands, ...userCommands, ...clientCommands, ...samlAppCommands, ...loginCommands];

/** The overview `gatehouse --help` prints. */
export function overview(): string {
  return [
    'Usage: gatehouse <command> [options]',
    '',
    'Commands:',
    ...commands.flatMap((command) => [`  ${`${command.name} ${command.synopsis}`.trimEnd()}`, `      ${command.summary}`]),
    '',
    'Options:',
    '  --config <file>  a JSON configuration file (or GATEHOUSE_CONFIG)',
    '  -h, --help       show this help, or a command\'s: gatehouse <command> --help',
    '',
    'login, api and logout talk to a running server over HTTP. The other commands (but start) work on the store directly. With the embedded file store (nedb),',
    'run them while the server is stopped: one process at a time may open it, and a command',
    'next to a running server is refused (exit code 75); use the admin API then.',
    '',
    'Configuration: docs/configuration.md. Admin API and CLI: docs/admin-api.md',
  ].join('\n');
}
