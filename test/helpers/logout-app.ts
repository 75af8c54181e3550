import type * as client from 'openid-client';
import type { BootOptions } from '../../src/boot.js';
import { seedTenant, startGatehouse, TEST_PASSWORD, type SeededTenant, type TestGatehouse } from './gatehouse.js';
import { relyingParty } from './login.js';
import { startBackchannelReceiver, type BackchannelReceiver } from './backchannel-receiver.js';

/** Where `bcl-app` sends its users back to (never fetched). */
export const BCL_REDIRECT = 'http://127.0.0.1:9/bcl';

/**
 * A seeded tenant (alice) plus bob and `bcl-app`, an app whose back-channel logout URI is
 * `receiver`'s `/{tenant}` and whose name is markup (pages must show it as text).
 */
export async function tenantWithLogoutApp(gh: TestGatehouse, receiver: BackchannelReceiver, id: string, name = 'Logout <b>App</b>'): Promise<{ seeded: SeededTenant; bobId: string; bcl: client.Configuration }> {
  const seeded = await seedTenant(gh, id);
  const bob = await gh.app.users.create(id, { username: 'bob', email: 'bob@example.com', passwordHash: await gh.app.passwords.hash(TEST_PASSWORD) });
  const { clientSecret } = await gh.app.clients.create(id, {
    client_id: 'bcl-app',
    client_name: name,
    redirect_uris: [BCL_REDIRECT],
    backchannel_logout_uri: `http://127.0.0.1:${receiver.port}/${id}`,
    backchannel_logout_session_required: true,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
  });
  return { seeded, bobId: bob._id, bcl: await relyingParty(gh, id, 'bcl-app', clientSecret!) };
}

/**
 * Gatehouse (private-network fetches allowed, so logout tokens reach 127.0.0.1) with a back-channel
 * logout receiver beside it; `stop` closes both.
 */
export async function startWithLogoutReceiver(options: BootOptions = {}): Promise<{ gh: TestGatehouse; receiver: BackchannelReceiver; stop: () => Promise<void> }> {
  const gh = await startGatehouse({ http: { allowPrivateNetworkFetch: true } }, options);
  const receiver = await startBackchannelReceiver();
  return {
    gh,
    receiver,
    stop: async () => {
      await receiver.close();
      await gh.stop();
    },
  };
}
