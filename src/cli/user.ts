import { z } from 'zod';
import { acceptablePassword } from '../authn/password-acceptance.js';
import { checkUsername } from '../domain/identifiers.js';
import { audit, optional, readSecretFromStdin, required, UsageError, withApp, type Command } from './command.js';

/** The admin API's rule for the same field (the username profile is checked by `checkUsername`). */
const emailSchema = z.email().max(254);

/** `gatehouse user create`: a user of a tenant; the password comes from stdin, never from argv. */
export const userCommands: Command[] = [
  {
    name: 'user create',
    synopsis: '--tenant <id> --username <username> [--email <address>] [--password-stdin]',
    summary: 'create a user; prints the user id',
    details:
      '--password-stdin reads the password from stdin; the tenant\'s password rules apply (at least 8\n' +
      'characters or the tenant\'s minimum, not a common or breached password, not made of the username\n' +
      'or e-mail address), e.g. printf \'%s\' "$PASSWORD" | gatehouse user create ... --password-stdin.\n' +
      'Without it the user has no password until one is set through the admin API.',
    options: { tenant: { type: 'string' }, username: { type: 'string' }, email: { type: 'string' }, 'password-stdin': { type: 'boolean' } },
    async run(config, values) {
      const tenantId = required(values, 'tenant', '<id>');
      const username = checkUsername(required(values, 'username', '<username>'));
      if (!username.ok) throw new UsageError(`--username is not a valid username (${username.problem})`);
      const email = optional(values, 'email')?.trim();
      if (email !== undefined && !emailSchema.safeParse(email).success) throw new UsageError(`--email "${email}" is not an e-mail address`);
      // stdin first: without a pipe the command fails before it opens the store.
      const password = values['password-stdin'] === true ? await readSecretFromStdin() : undefined;
      return withApp(config, async (app) => {
        const tenant = await app.tenants.find(tenantId);
        if (!tenant) throw new UsageError(`there is no tenant "${tenantId}"`);
        if (password !== undefined) {
          const verdict = await acceptablePassword(app.passwordChecks, tenant.securityPolicy, password, { username: username.username, email });
          if (!verdict.ok) throw new UsageError(`the password on stdin is refused (${verdict.reason}): ${verdict.message}`);
        }
        const passwordHash = password !== undefined ? await app.passwords.hash(password) : undefined;
        // A taken username or e-mail address is an AppError (conflict): exit code 2.
        const user = await app.users.create(tenant._id, { username: username.username, ...(email ? { email } : {}), ...(passwordHash ? { passwordHash } : {}) });
        await audit(app, {
          tenant: tenant._id,
          type: 'user.created',
          target: { type: 'user', id: user._id },
          after: { id: user._id, username: user.username, email: user.email ?? null, has_password: passwordHash !== undefined },
        });
        console.log(user._id);
        if (!passwordHash) console.error(`note: user "${user.username}" has no password yet and cannot sign in with one`);
        return 0;
      });
    },
  },
];
