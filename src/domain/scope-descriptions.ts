/** What each OpenID scope lets an app do, in the words the consent and device confirmation pages show. */
export const scopeDescriptions: Readonly<Record<string, string>> = {
  openid: 'Sign you in with your account',
  profile: 'See your name and username',
  email: 'See your e-mail address',
  phone: 'See your phone number',
  roles: 'See your roles in this organisation',
  offline_access: 'Keep access while you are not using the app',
};
