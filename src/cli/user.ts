import { z } from 'zod';
import { MAX_PASSWORD_LENGTH } from '../authn/password.js';
import { checkUsername } from '../domain/identifiers.js';
import { minPasswordLength, passwordLength } from '../domain/users.js';
import { audit, optional, readSecretFromStdin, required, UsageError, withApp, type Command } from './command.js';

/** Never below 8, whatever a tenant's policy says (NIST SP 800-63B 3.1.1.2). */
const MIN_PASSWORD_LENGTH = 8;
/** The admin API's rule for the same field (the username profile is checked by `checkUsername`). */
const emailSchema = z.email().max(254);

/** `gatehouse user create`: a user of a tenant; the password comes from stdin, never from argv. */
export const userCommands: Command[] = [
  {
    name: 'user create',
    synopsis: '--tenant <id> --username <username> [--email <address>] [--password-stdin]',
    summary: 'create a user; prints the user id',
    details:
      '--password-stdin reads the password from stdin (at least 8 characters, or the tenant\'s\n' +
      'minimum), e.g. printf \'%s\' "$PASSWORD" | gatehouse user create ... --password-stdin.\n' +
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
          const minimum = Math.max(MIN_PASSWORD_LENGTH, minPasswordLength(tenant));
          if (passwordLength(password) < minimum) throw new UsageError(`the password on stdin is shorter than ${minimum} characters`);
          if (password.length > MAX_PASSWORD_LENGTH) throw new UsageError(`the password on stdin is longer than ${MAX_PASSWORD_LENGTH} characters`);
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
