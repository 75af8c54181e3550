"""
A SAML service provider built on OneLogin's python3-saml (Debian's python3-onelogin-saml2), in
strict mode, driven by Gatehouse's tests as a second SP independent of samlify.

Usage: /usr/bin/python3 onelogin_sp.py COMMAND < settings.json, printing one JSON object.
Commands (python3-saml sends AuthnRequests over HTTP-Redirect only):
  login            {"request_id", "url"}
  acs              checks a posted Response ("saml_response", "request_id"):
                   {"ok": true, "name_id", "name_id_format", "sp_name_qualifier", "attributes",
                   "session_index", "authn_context"} or {"ok": false, "error"}
  logout           a LogoutRequest for "name_id": {"request_id", "url"}
  logout-response  checks a LogoutResponse that came back over HTTP-Redirect ("query_string", the
                   raw query as received, and "request_id"): {"ok", "error"?}
  slo              the IdP's LogoutRequest over HTTP-Redirect ("query_string"): {"ok", "url"} with
                   the signed LogoutResponse's URL, or {"ok": false, "error"}
Settings: entity_id, acs_url, slo_url, key_file, cert_file, idp_metadata (XML), sign (bool),
want_assertions_signed, want_messages_signed, want_assertions_encrypted, and optional
name_id_format, force_authn, is_passive, authn_context (list), comparison, relay_state.
"""
import json
import logging
import sys
from urllib.parse import parse_qs, urlsplit

from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser

logging.basicConfig(level=logging.CRITICAL)


def settings_of(settings):
    idp = OneLogin_Saml2_IdPMetadataParser.parse(settings["idp_metadata"])["idp"]
    with open(settings["key_file"]) as key, open(settings["cert_file"]) as cert:
        private_key, certificate = key.read(), cert.read()
    return {
        "strict": True,
        "debug": False,
        "sp": {
            "entityId": settings["entity_id"],
            "assertionConsumerService": {"url": settings["acs_url"], "binding": C.BINDING_HTTP_POST},
            "singleLogoutService": {"url": settings["slo_url"], "binding": C.BINDING_HTTP_REDIRECT},
            "NameIDFormat": settings.get("name_id_format", C.NAMEID_UNSPECIFIED),
            "x509cert": certificate,
            "privateKey": private_key,
        },
        "idp": idp,
        "security": {
            "authnRequestsSigned": bool(settings.get("sign")),
            "logoutRequestSigned": True,
            "logoutResponseSigned": True,
            "wantAssertionsSigned": bool(settings.get("want_assertions_signed")),
            "wantMessagesSigned": bool(settings.get("want_messages_signed")),
            "wantAssertionsEncrypted": bool(settings.get("want_assertions_encrypted")),
            "wantNameId": True,
            "requestedAuthnContext": settings.get("authn_context", False),
            "requestedAuthnContextComparison": settings.get("comparison", "exact"),
            "signatureAlgorithm": C.RSA_SHA256,
            "digestAlgorithm": C.SHA256,
            "rejectDeprecatedAlgorithm": True,
        },
    }


def request_data(url, post=None, query_string=None):
    """What python3-saml reads of the HTTP request: strict mode compares Destination with this URL."""
    parts = urlsplit(url)
    data = {
        "https": "on" if parts.scheme == "https" else "off",
        "http_host": parts.hostname,
        "server_port": str(parts.port or (443 if parts.scheme == "https" else 80)),
        "script_name": parts.path,
        "get_data": {},
        "post_data": post or {},
    }
    if query_string is not None:
        data["get_data"] = {key: values[0] for key, values in parse_qs(query_string, keep_blank_values=True).items()}
        data["query_string"] = query_string
        data["validate_signature_from_qs"] = True
    return data


def login(settings):
    auth = OneLogin_Saml2_Auth(request_data(settings["acs_url"]), settings_of(settings))
    url = auth.login(
        return_to=settings.get("relay_state"),
        force_authn=bool(settings.get("force_authn")),
        is_passive=bool(settings.get("is_passive")),
        set_nameid_policy="name_id_format" in settings,
    )
    return {"request_id": auth.get_last_request_id(), "url": url}


def acs(settings):
    auth = OneLogin_Saml2_Auth(request_data(settings["acs_url"], post={"SAMLResponse": settings["saml_response"]}), settings_of(settings))
    try:
        auth.process_response(request_id=settings.get("request_id"))
    except Exception as error:
        return {"ok": False, "error": "%s: %s" % (type(error).__name__, error)}
    if auth.get_errors() or not auth.is_authenticated():
        return {"ok": False, "error": "%s: %s" % (", ".join(auth.get_errors()), auth.get_last_error_reason())}
    contexts = auth.get_last_authn_contexts()
    return {
        "ok": True,
        "name_id": auth.get_nameid(),
        "name_id_format": auth.get_nameid_format(),
        "sp_name_qualifier": auth.get_nameid_spnq(),
        "attributes": auth.get_attributes(),
        "session_index": auth.get_session_index(),
        "authn_context": contexts[0] if contexts else None,
    }


def logout(settings):
    auth = OneLogin_Saml2_Auth(request_data(settings["slo_url"]), settings_of(settings))
    url = auth.logout(
        return_to=settings.get("relay_state"),
        name_id=settings["name_id"],
        session_index=settings.get("session_index"),
        name_id_format=settings.get("name_id_format"),
        spnq=settings.get("sp_name_qualifier"),
    )
    return {"request_id": auth.get_last_request_id(), "url": url}


def logout_response(settings):
    auth = OneLogin_Saml2_Auth(request_data(settings["slo_url"], query_string=settings["query_string"]), settings_of(settings))
    try:
        auth.process_slo(keep_local_session=True, request_id=settings.get("request_id"))
    except Exception as error:
        return {"ok": False, "error": "%s: %s" % (type(error).__name__, error)}
    errors = auth.get_errors()
    return {"ok": not errors, **({"error": "%s: %s" % (", ".join(errors), auth.get_last_error_reason())} if errors else {})}


def slo(settings):
    """The IdP's LogoutRequest at the SP's SLO URL over HTTP-Redirect ("query_string" as received):
    python3-saml checks it in strict mode (the query's signature when want_messages_signed) and
    answers the URL of its signed LogoutResponse to the IdP."""
    auth = OneLogin_Saml2_Auth(request_data(settings["slo_url"], query_string=settings["query_string"]), settings_of(settings))
    try:
        url = auth.process_slo(keep_local_session=True)
    except Exception as error:
        return {"ok": False, "error": "%s: %s" % (type(error).__name__, error)}
    errors = auth.get_errors()
    if errors:
        return {"ok": False, "error": "%s: %s" % (", ".join(errors), auth.get_last_error_reason())}
    return {"ok": True, "url": url}


COMMANDS = {"login": login, "acs": acs, "logout": logout, "logout-response": logout_response, "slo": slo}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in COMMANDS:
        sys.stderr.write("usage: onelogin_sp.py (%s) < settings.json\n" % " | ".join(COMMANDS))
        sys.exit(2)
    print(json.dumps(COMMANDS[sys.argv[1]](json.load(sys.stdin)), default=str))
