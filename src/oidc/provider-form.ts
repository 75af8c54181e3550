import { Parser } from 'htmlparser2';

/** A form oidc-provider hands to a page hook: where it posts and the values it carries. */
export interface ProviderForm {
  action: string;
  /** every named `<input>` with a value (the hidden xsrf token, the user code, `confirm`), decoded */
  fields: Record<string, string>;
}

/**
 * Reads the one form in the HTML oidc-provider passes to its page hooks (logout, device code entry
 * and confirmation), so our templates render their own escaped form from its action and values
 * rather than inserting the provider's markup. An HTML parser, not regular expressions: attribute
 * order, quoting and entities are the parser's problem. Throws when there is no form with an action,
 * which would be a change in the provider this must not paper over.
 */
export function readProviderForm(html: string): ProviderForm {
  let action: string | undefined;
  let forms = 0;
  const fields: Record<string, string> = {};
  const parser = new Parser(
    {
      onopentag(name, attributes) {
        if (name === 'form') {
          forms += 1;
          action = attributes['action'];
        } else if (name === 'input' && forms === 1 && attributes['name'] && attributes['value'] !== undefined) {
          fields[attributes['name']] = attributes['value'];
        }
      },
    },
    { decodeEntities: true, lowerCaseAttributeNames: true },
  );
  parser.write(html);
  parser.end();
  if (forms !== 1 || !action) throw new Error(`expected one form with an action from oidc-provider, found ${forms}`);
  return { action, fields };
}
