"""
A SAML service provider built on pysaml2 (Debian's python3-pysaml2), driven by Gatehouse's tests
as an SP independent of samlify: the tests must not trust the library they test.

Usage: /usr/bin/python3 pysaml2_sp.py COMMAND < settings.json, printing one JSON object.
Commands:
  login            an AuthnRequest for the IdP: {"request_id", "url"} (HTTP-Redirect) or
                   {"request_id", "form": {"action", "SAMLRequest", "RelayState"}} (HTTP-POST)
  acs              checks a Response posted to the ACS ("saml_response", "request_id") the way
                   pysaml2 does (signatures, audience, times, InResponseTo, destination) and answers
                   {"ok": true, "name_id", "name_id_format", "name_qualifier", "sp_name_qualifier",
                   "attributes", "session_index", "authn_context", "issuer"} or {"ok": false, "error"}
  logout           a LogoutRequest for "name_id" (+ "name_id_format", "session_index"): {"request_id", "url"}
  logout-response  checks a LogoutResponse ("saml_response", binding "redirect" or "post"):
                   {"ok", "status", "second_status", "signed", "in_response_to"}
  slo              the IdP's LogoutRequest ("saml_request", posted): {"ok", "signed", "name_id",
                   "session_index", "form": the signed LogoutResponse to post back}
Settings: entity_id, acs_url, slo_url, key_file, cert_file, idp_metadata (XML), binding
("redirect" | "post"), sign (bool), want_response_signed, want_assertions_signed, and optional
name_id_format, force_authn, is_passive, authn_context (list of class refs), comparison, relay_state.
"""
import base64
import json
import logging
import sys

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.saml import NameID
from saml2.samlp import RequestedAuthnContext
from saml2.saml import AuthnContextClassRef

logging.basicConfig(level=logging.CRITICAL)

BINDINGS = {"redirect": BINDING_HTTP_REDIRECT, "post": BINDING_HTTP_POST}


def client_of(settings):
    config = SPConfig()
    config.load(
        {
            "entityid": settings["entity_id"],
            "metadata": {"inline": [settings["idp_metadata"]]},
            "service": {
                "sp": {
                    "endpoints": {
                        "assertion_consumer_service": [(settings["acs_url"], BINDING_HTTP_POST)],
                        "single_logout_service": [(settings["slo_url"], BINDING_HTTP_REDIRECT), (settings["slo_url"], BINDING_HTTP_POST)],
                    },
                    "authn_requests_signed": bool(settings.get("sign")),
                    "logout_requests_signed": True,
                    "want_response_signed": bool(settings.get("want_response_signed")),
                    "want_assertions_signed": bool(settings.get("want_assertions_signed")),
                    "want_assertions_or_response_signed": True,
                    "allow_unsolicited": bool(settings.get("allow_unsolicited")),
                    "name_id_format": [settings["name_id_format"]] if settings.get("name_id_format") else [],
                    "signing_algorithm": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                    "digest_algorithm": "http://www.w3.org/2001/04/xmlenc#sha256",
                }
            },
            "key_file": settings["key_file"],
            "cert_file": settings["cert_file"],
            "encryption_keypairs": [{"key_file": settings["key_file"], "cert_file": settings["cert_file"]}],
            "xmlsec_binary": "/usr/bin/xmlsec1",
            "accepted_time_diff": 60,
            "allow_unknown_attributes": True,
        }
    )
    return Saml2Client(config)


def idp_of(client):
    return next(iter(client.metadata.identity_providers()))


def login(settings):
    client = client_of(settings)
    binding = BINDINGS[settings.get("binding", "redirect")]
    extra = {}
    if settings.get("force_authn"):
        extra["force_authn"] = "true"
    if settings.get("is_passive"):
        extra["is_passive"] = "true"
    if settings.get("authn_context"):
        extra["requested_authn_context"] = RequestedAuthnContext(
            authn_context_class_ref=[AuthnContextClassRef(text=ref) for ref in settings["authn_context"]],
            comparison=settings.get("comparison", "exact"),
        )
    request_id, info = client.prepare_for_authenticate(
        entityid=idp_of(client),
        relay_state=settings.get("relay_state", ""),
        binding=binding,
        nameid_format=settings.get("name_id_format"),
        sign=bool(settings.get("sign")),
        sigalg="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" if settings.get("sign") else None,
        digest_alg="http://www.w3.org/2001/04/xmlenc#sha256",
        **extra,
    )
    if binding == BINDING_HTTP_REDIRECT:
        return {"request_id": request_id, "url": dict(info["headers"])["Location"]}
    return {"request_id": request_id, "form": form_of(info)}


def form_of(info):
    """pysaml2 answers an auto-posting HTML page for HTTP-POST; the tests want its fields."""
    from html.parser import HTMLParser

    fields = {}

    class Form(HTMLParser):
        def handle_starttag(self, tag, attrs):
            attributes = dict(attrs)
            if tag == "form":
                fields["action"] = attributes.get("action")
            if tag == "input" and attributes.get("name"):
                fields[attributes["name"]] = attributes.get("value", "")

    Form().feed(info["data"])
    return fields


def acs(settings):
    client = client_of(settings)
    try:
        response = client.parse_authn_request_response(
            settings["saml_response"], BINDING_HTTP_POST, outstanding={settings["request_id"]: "/"} if settings.get("request_id") else {}
        )
    except Exception as error:  # every refusal is an answer the test reads
        return {"ok": False, "error": "%s: %s" % (type(error).__name__, error)}
    if response is None:
        return {"ok": False, "error": "pysaml2 did not accept the response"}
    name_id = response.assertion.subject.name_id
    statement = response.assertion.authn_statement[0] if response.assertion.authn_statement else None
    return {
        "ok": True,
        "issuer": response.issuer(),
        "name_id": name_id.text if name_id is not None else None,
        "name_id_format": name_id.format if name_id is not None else None,
        "name_qualifier": name_id.name_qualifier if name_id is not None else None,
        "sp_name_qualifier": name_id.sp_name_qualifier if name_id is not None else None,
        "attributes": response.ava,
        "session_index": statement.session_index if statement is not None else None,
        "authn_context": statement.authn_context.authn_context_class_ref.text if statement is not None and statement.authn_context.authn_context_class_ref is not None else None,
        "encrypted": len(response.response.encrypted_assertion) > 0,
    }


def logout(settings):
    client = client_of(settings)
    name_id = NameID(text=settings["name_id"], format=settings.get("name_id_format"))
    binding = BINDINGS[settings.get("binding", "redirect")]
    destination = client.metadata.single_logout_service(idp_of(client), binding, "idpsso")[0]["location"]
    request_id, request = client.create_logout_request(
        destination,
        idp_of(client),
        name_id=name_id,
        session_indexes=[settings["session_index"]] if settings.get("session_index") else None,
        sign=binding == BINDING_HTTP_POST,
        sign_alg="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        digest_alg="http://www.w3.org/2001/04/xmlenc#sha256",
    )
    info = client.apply_binding(
        binding,
        str(request),
        destination,
        relay_state=settings.get("relay_state", ""),
        sign=True,
        sigalg="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    )
    if binding == BINDING_HTTP_REDIRECT:
        return {"request_id": request_id, "url": dict(info["headers"])["Location"]}
    return {"request_id": request_id, "form": form_of(info)}


def logout_response(settings):
    client = client_of(settings)
    binding = BINDINGS[settings.get("binding", "redirect")]
    try:
        response = client.parse_logout_request_response(settings["saml_response"], binding)
    except Exception as error:
        return {"ok": False, "error": "%s: %s" % (type(error).__name__, error)}
    if response is None:
        return {"ok": False, "error": "pysaml2 did not accept the logout response"}
    # pysaml2 verifies any signature a message carries; "signed" says one was there to verify.
    return {
        "ok": True,
        "status": response.response.status.status_code.value,
        "second_status": response.response.status.status_code.status_code.value if response.response.status.status_code.status_code is not None else None,
        "signed": response.response.signature is not None,
        "in_response_to": response.response.in_response_to,
    }


def slo(settings):
    """The IdP's LogoutRequest posted to the SP's SLO URL: checked by pysaml2 (any signature it carries
    is verified), then answered with a signed LogoutResponse (Success) posted back to the IdP."""
    client = client_of(settings)
    binding = BINDINGS[settings.get("binding", "post")]
    try:
        request = client.parse_logout_request(settings["saml_request"], binding)
    except Exception as error:
        return {"ok": False, "error": "%s: %s" % (type(error).__name__, error)}
    if request is None:
        return {"ok": False, "error": "pysaml2 did not accept the logout request"}
    message = request.message
    destination = client.metadata.single_logout_service(idp_of(client), binding, "idpsso")[0]["location"]
    response = client.create_logout_response(
        message, [binding], sign=True,
        sign_alg="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        digest_alg="http://www.w3.org/2001/04/xmlenc#sha256",
    )
    info = client.apply_binding(binding, str(response), destination, relay_state=settings.get("relay_state", ""), response=True)
    return {
        "ok": True,
        "signed": request.message.signature is not None,
        "name_id": message.name_id.text if message.name_id is not None else None,
        "session_index": [index.text for index in message.session_index],
        "form": form_of(info),
    }


COMMANDS = {"login": login, "acs": acs, "logout": logout, "logout-response": logout_response, "slo": slo}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in COMMANDS:
        sys.stderr.write("usage: pysaml2_sp.py (%s) < settings.json\n" % " | ".join(COMMANDS))
        sys.exit(2)
    print(json.dumps(COMMANDS[sys.argv[1]](json.load(sys.stdin)), default=str))
