import type { AppContext } from '../app-context.js';
import { builtInClientPurpose } from '../domain/clients.js';

/**
 * How the console names a client to its user: the built-in ones by what they are ("the account
 * console"), the others by their registered `client_name`, else their id. Each client is looked up
 * once per page, however often it appears on it.
 */
export function clientNamer(app: Pick<AppContext, 'clients'>, tenant: string): (clientId: string) => Promise<string> {
  const names = new Map<string, Promise<string>>();
  return (clientId) => {
    let name = names.get(clientId);
    if (!name) {
      const builtIn = builtInClientPurpose[clientId];
      name = builtIn
        ? Promise.resolve(builtIn)
        : app.clients.get(tenant, clientId).then((client) => (typeof client?.metadata['client_name'] === 'string' && client.metadata['client_name'] ? client.metadata['client_name'] : clientId));
      names.set(clientId, name);
    }
    return name;
  };
}
