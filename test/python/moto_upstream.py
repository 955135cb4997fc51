"""moto_server as the AWS that Gatehouse federates to (IAM + STS), strict about AssumeRoleWithSAML.

Usage: python3 moto_upstream.py <port>  -- listens on 127.0.0.1:<port>, prints "ready", stops on SIGTERM/SIGINT.

moto 5.2 checks nothing in AssumeRoleWithSAML (no signature, issuer, audience, times, trust policy, role or provider),
so on its own it would accept whatever Gatehouse sends and prove nothing. Here the call is checked as AWS checks it,
against the SAML provider's stored metadata and the role's trust policy, and refused with AWS's errors:
400 InvalidIdentityToken for the Response itself, 403 AccessDenied when the role does not exist or does not trust the
provider, 400 ValidationError for the parameters. The session is then filed under the role's account (moto files it
under the caller's, so GetCallerIdentity with the credentials would not name the assumed role).

Environment:
  MOTO_SAML_LOG                   a directory: every AssumeRoleWithSAML call is written there as one JSON file
                                  (the decoded Response, the parameters, and what was answered) for tests to read.
  MOTO_SAML_LAX=true              moto's own behaviour (no checks), to see a test fail without the strictness.
  MOTO_IAM_LOAD_MANAGED_POLICIES  moto's own switch (AWS managed policies exist), passed through.
  MOTO_EXIT_ON_STDIN_EOF=true     also stop when stdin closes: a test process that dies leaves no server behind.
"""

import base64
import binascii
import datetime
import fnmatch
import hashlib
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import xml.etree.ElementTree as ET

from moto.core import serialize as moto_serialize
from moto.core.errors import ErrorShape
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.iam.models import iam_backends
from moto.server import ThreadedMotoServer
from moto.sts import models as sts_models
from moto.sts import responses as sts_responses

AWS_SAML = "https://signin.aws.amazon.com/saml"
# AWS also takes its regional sign-in endpoints as the Recipient.
RECIPIENT = re.compile(r"^https://([a-z0-9-]+\.)?signin\.aws\.amazon\.com/saml$")
AUDIENCES = {AWS_SAML, "urn:amazon:webservices"}
ATTR = "https://aws.amazon.com/SAML/Attributes/"
NS = {
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "md": "urn:oasis:names:tc:SAML:2.0:metadata",
}
SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$", re.ASCII)
ROLE_ARN = re.compile(r"^arn:(aws[\w-]*):iam::(\d{12}):role/(?:[\w+=,.@/-]*/)?([\w+=,.@-]{1,64})$", re.ASCII)
PROVIDER_ARN = re.compile(r"^arn:(aws[\w-]*):iam::(\d{12}):saml-provider/[\w._-]{1,128}$", re.ASCII)
# Clocks differ a little between an identity provider and AWS; a Response is not refused for a few seconds of it.
CLOCK_SKEW = datetime.timedelta(seconds=60)
NOT_AUTHORIZED = "Not authorized to perform sts:AssumeRoleWithSAML"


class InvalidIdentityToken(ServiceException):
    code = "InvalidIdentityToken"  # in STS's model: 400, Sender


class ValidationError(ServiceException):
    code = "ValidationError"


class AccessDenied(ServiceException):
    code = "AccessDenied"


# STS's model has no AccessDenied shape, so moto would answer it with 400; AWS answers 403.
_ACCESS_DENIED_SHAPE = ErrorShape(
    shape_name="AccessDenied",
    shape_model={"exception": True, "type": "structure", "members": {}, "error": {"code": "AccessDenied", "httpStatusCode": 403, "senderFault": True}},
)
_get_error_model = moto_serialize.get_error_model


def get_error_model(exception, default_service_model):
    if isinstance(exception, AccessDenied):
        return _ACCESS_DENIED_SHAPE
    return _get_error_model(exception, default_service_model)


moto_serialize.get_error_model = get_error_model


def parse_time(value, what):
    if not value:
        raise InvalidIdentityToken(f"{what} is required in AuthnResponse")
    try:
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(datetime.timezone.utc).replace(tzinfo=None)
    except ValueError:
        raise InvalidIdentityToken(f"{what} in AuthnResponse is not a valid time")


def only(parent, path, what):
    found = parent.findall(path, NS)
    if len(found) != 1:
        raise InvalidIdentityToken(f"{what} must appear exactly once in AuthnResponse" if found else f"{what} is required in AuthnResponse")
    return found[0]


def signing_certificates(metadata):
    """The entity ID and the signing certificates (base64 DER) of an IdP's metadata; during a key rollover, several."""
    try:
        root = ET.fromstring(metadata.encode("utf-8") if isinstance(metadata, str) else metadata)
    except ET.ParseError:
        raise InvalidIdentityToken("Could not parse metadata")
    entity_id = root.get("entityID")
    certs = []
    for kd in root.iter(f"{{{NS['md']}}}KeyDescriptor"):
        if kd.get("use", "signing") != "signing":
            continue
        for cert in kd.iter(f"{{{NS['ds']}}}X509Certificate"):
            certs.append(re.sub(r"\s", "", cert.text or ""))
    return entity_id, [c for c in certs if c]


def xmlsec_verify(xml_path, cert_b64, node_xpath):
    """Whether xmlsec1 verifies the signature at node_xpath with this certificate (and only it)."""
    with tempfile.NamedTemporaryFile("w", suffix=".pem") as pem:
        body = "\n".join(cert_b64[i : i + 64] for i in range(0, len(cert_b64), 64))
        pem.write(f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n")
        pem.flush()
        result = subprocess.run(
            [
                "xmlsec1", "--verify", "--enabled-key-data", "rsa", "--pubkey-cert-pem", pem.name,
                "--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
                "--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:protocol:Response",
                "--node-xpath", node_xpath, xml_path,
            ],
            capture_output=True,
            timeout=30,
        )
        return result.returncode == 0


def check_signatures(xml_bytes, response, assertion, certs):
    """Both the Response and the Assertion signed, each over itself (no wrapped copies), by a provider certificate."""
    ids = [e.get("ID") for e in response.iter() if e.get("ID") is not None]
    if len(ids) != len(set(ids)):
        raise InvalidIdentityToken("Response signature invalid")
    for element, xpath in (
        (response, "/*[local-name()='Response']/*[local-name()='Signature']"),
        (assertion, "/*[local-name()='Response']/*[local-name()='Assertion']/*[local-name()='Signature']"),
    ):
        signatures = element.findall("ds:Signature", NS)
        refs = [r.get("URI") for s in signatures for r in s.iterfind("ds:SignedInfo/ds:Reference", NS)]
        if len(signatures) != 1 or refs != [f"#{element.get('ID')}"]:
            raise InvalidIdentityToken("Response signature invalid")
    with tempfile.NamedTemporaryFile("wb", suffix=".xml") as f:
        f.write(xml_bytes)
        f.flush()
        for xpath in (
            "/*[local-name()='Response']/*[local-name()='Signature']",
            "/*[local-name()='Response']/*[local-name()='Assertion']/*[local-name()='Signature']",
        ):
            if not any(xmlsec_verify(f.name, cert, xpath) for cert in certs):
                raise InvalidIdentityToken("Response signature invalid")


def statement_list(value):
    return value if isinstance(value, list) else [value]


def condition_holds(conditions, context):
    """The trust policy's Condition block over the SAML context keys; anything not understood does not hold."""
    for operator, block in (conditions or {}).items():
        if operator not in ("StringEquals", "StringLike", "StringNotEquals", "StringNotLike") or not isinstance(block, dict):
            return False
        for key, expected in block.items():
            actual = context.get(key.lower())
            if actual is None:
                return False
            wanted = statement_list(expected)
            like = operator.endswith("Like")
            match = any(fnmatch.fnmatchcase(actual, w) if like else actual == w for w in wanted)
            if match == operator.startswith("StringNot"):
                return False
    return True


def trust_allows(policy_document, provider_arn, actions, context):
    try:
        policy = json.loads(policy_document)
    except (TypeError, ValueError):
        return False
    allowed = set()
    for st in statement_list(policy.get("Statement", [])):
        if not isinstance(st, dict):
            continue
        principal = st.get("Principal")
        federated = statement_list(principal.get("Federated", [])) if isinstance(principal, dict) else []
        if provider_arn not in federated and principal != "*":
            continue
        stated = [a.lower() for a in statement_list(st.get("Action", []))]
        matched = {a for a in actions if any(fnmatch.fnmatchcase(a.lower(), s) for s in stated)}
        if not matched or not condition_holds(st.get("Condition"), context):
            continue
        if st.get("Effect") == "Deny":
            return False
        if st.get("Effect") == "Allow":
            allowed |= matched
    return allowed == set(actions)


def check(params):
    """Checks one AssumeRoleWithSAML call as AWS would; returns what moto needs to make the session."""
    role_arn, provider_arn, encoded = params.get("RoleArn"), params.get("PrincipalArn"), params.get("SAMLAssertion")
    for name, value in (("roleArn", role_arn), ("principalArn", provider_arn), ("sAMLAssertion", encoded)):
        if not value:
            raise ValidationError(f"1 validation error detected: Value null at '{name}' failed to satisfy constraint: Member must not be null")
    if len(encoded) > 100000:
        raise ValidationError("1 validation error detected: Value at 'sAMLAssertion' failed to satisfy constraint: Member must have length less than or equal to 100000")
    role_match, provider_match = ROLE_ARN.match(role_arn), PROVIDER_ARN.match(provider_arn)
    if not role_match:
        raise ValidationError(f"{role_arn} is invalid")
    if not provider_match:
        raise ValidationError(f"{provider_arn} is invalid")
    duration = params.get("DurationSeconds")
    if duration is not None:
        if not re.fullmatch(r"\d{1,6}", duration) or not 900 <= int(duration) <= 43200:
            raise ValidationError("1 validation error detected: Value at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200")
        duration = int(duration)
    partition, account = provider_match.group(1), provider_match.group(2)

    try:
        xml_bytes = base64.b64decode(encoded, validate=True)
        response = ET.fromstring(xml_bytes)
    except (binascii.Error, ValueError, ET.ParseError):
        raise InvalidIdentityToken("Invalid SAML response")
    if response.tag != f"{{{NS['samlp']}}}Response":
        raise InvalidIdentityToken("Invalid SAML response")

    iam = iam_backends[account][partition]
    provider = next((p for p in iam.list_saml_providers() if p.arn == provider_arn), None)
    if provider is None:
        raise InvalidIdentityToken("Specified provider doesn't exist")
    entity_id, certs = signing_certificates(provider.saml_metadata_document or "")
    if not entity_id or not certs:
        raise InvalidIdentityToken("Could not parse metadata")

    status = response.find("samlp:Status/samlp:StatusCode", NS)
    if status is None or status.get("Value") != "urn:oasis:names:tc:SAML:2.0:status:Success":
        raise InvalidIdentityToken("Invalid SAML response: the status is not Success")
    assertion = only(response, "saml:Assertion", "Assertion")
    check_signatures(xml_bytes, response, assertion, certs)
    issuers = [(only(e, "saml:Issuer", "Issuer").text or "").strip() for e in (response, assertion)]
    if any(i != entity_id for i in issuers):
        raise InvalidIdentityToken("Issuer not present in specified provider")

    now = utcnow()
    confirmations = assertion.findall("saml:Subject/saml:SubjectConfirmation", NS)
    if len(confirmations) != 1:
        raise InvalidIdentityToken("Invalid SAML response: exactly one SubjectConfirmation is required")
    data = only(confirmations[0], "saml:SubjectConfirmationData", "SubjectConfirmationData")
    recipient = data.get("Recipient") or ""
    if not RECIPIENT.match(recipient):
        raise InvalidIdentityToken("Invalid SAML response: the Recipient is not AWS's sign-in endpoint")
    if parse_time(data.get("NotOnOrAfter"), "SubjectConfirmationData NotOnOrAfter") + CLOCK_SKEW <= now:
        raise InvalidIdentityToken("Response has expired")
    conditions = only(assertion, "saml:Conditions", "Conditions")
    if conditions.get("NotBefore") and parse_time(conditions.get("NotBefore"), "Conditions NotBefore") - CLOCK_SKEW > now:
        raise InvalidIdentityToken("Response is not yet valid")
    if conditions.get("NotOnOrAfter") and parse_time(conditions.get("NotOnOrAfter"), "Conditions NotOnOrAfter") + CLOCK_SKEW <= now:
        raise InvalidIdentityToken("Response has expired")
    audiences = {(a.text or "").strip() for a in conditions.iterfind("saml:AudienceRestriction/saml:Audience", NS)}
    if not audiences & AUDIENCES:
        raise InvalidIdentityToken("Response does not contain the required audience")

    attributes = {}
    for attr in assertion.iterfind("saml:AttributeStatement/saml:Attribute", NS):
        attributes.setdefault(attr.get("Name"), []).extend((v.text or "") for v in attr.iterfind("saml:AttributeValue", NS))
    roles = attributes.get(ATTR + "Role", [])
    if not roles:
        raise InvalidIdentityToken("Your request included an invalid SAML response: no Role attribute")
    if f"{role_arn},{provider_arn}" not in [r.strip() for r in roles]:
        raise InvalidIdentityToken("Your request included an invalid SAML response: the Role attribute does not name this role and provider")
    names = attributes.get(ATTR + "RoleSessionName", [])
    if not names:
        raise InvalidIdentityToken("RoleSessionName is required in AuthnResponse")
    if len(names) != 1 or not SESSION_NAME.match(names[0]):
        raise InvalidIdentityToken("RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}")
    session_duration = attributes.get(ATTR + "SessionDuration")
    if session_duration is not None:
        if len(session_duration) != 1 or not re.fullmatch(r"\d{1,6}", session_duration[0]) or not 900 <= int(session_duration[0]) <= 43200:
            raise InvalidIdentityToken("SessionDuration in AuthnResponse must be an integer from 900 to 43200")
    name_id = assertion.find("saml:Subject/saml:NameID", NS)
    if name_id is None or not (name_id.text or "").strip():
        raise AccessDenied(NOT_AUTHORIZED)
    tagged = any(k.startswith(ATTR + "PrincipalTag:") for k in attributes)

    role = next((r for r in iam.get_roles() if r.arn == role_arn), None)
    if role is None:
        raise AccessDenied(NOT_AUTHORIZED)
    context = {
        "saml:aud": recipient,
        "saml:iss": entity_id,
        "saml:sub": name_id.text.strip(),
        "saml:sub_type": (name_id.get("Format") or "").rsplit(":", 1)[-1],
    }
    actions = ["sts:AssumeRoleWithSAML"] + (["sts:TagSession"] if tagged else [])
    if not trust_allows(role.assume_role_policy_document, provider_arn, actions, context):
        raise AccessDenied(NOT_AUTHORIZED)
    max_session = int(role.max_session_duration or 3600)
    if duration is not None and duration > max_session:
        raise ValidationError("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")

    # The API's session lasts DurationSeconds (default an hour); SessionDuration, which is the console's, only shortens it.
    lasts = duration or 3600
    if session_duration is not None:
        lasts = min(lasts, int(session_duration[0]))
    short_type = context["saml:sub_type"] or "persistent"
    qualifier = base64.b64encode(hashlib.sha1(f"{entity_id}{account}/{provider.name}".encode()).digest()).decode()
    return {
        "role_arn": role_arn,
        "session_name": names[0],
        "duration": lasts,
        "subject": context["saml:sub"],
        "subject_type": short_type,
        "issuer": entity_id,
        "audience": recipient,
        "name_qualifier": qualifier,
        "xml": xml_bytes.decode("utf-8", "replace"),
    }


def make_session(backend, checked):
    """The session, filed under the role's account (moto files it under the caller's)."""
    account, access_key = backend._create_access_key(role=checked["role_arn"])
    session = sts_models.AssumedRole(
        account_id=account,
        region_name=backend.region_name,
        access_key=access_key,
        role_session_name=checked["session_name"],
        role_arn=checked["role_arn"],
        policy=None,
        duration=checked["duration"],
        external_id=None,
    )
    access_key.role_arn = checked["role_arn"]
    sts_models.sts_backends[account][session.partition].assumed_roles.append(session)
    return session


_log_dir = os.environ.get("MOTO_SAML_LOG")
_log_seq = itertools.count(1)
_log_lock = threading.Lock()


def record(entry):
    if not _log_dir:
        return
    with _log_lock:
        n = next(_log_seq)
    os.makedirs(_log_dir, exist_ok=True)
    path = os.path.join(_log_dir, f"{n:06d}.json")
    with open(path + ".tmp", "w") as f:
        json.dump(entry, f, indent=1)
    os.replace(path + ".tmp", path)  # a reader never sees half a file


def decoded(encoded):
    try:
        return base64.b64decode(encoded or "").decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return None


_original_response = sts_responses.TokenResponse.assume_role_with_saml


def assume_role_with_saml(self):
    entry = {"time": utcnow().isoformat() + "Z"}
    try:
        # moto gives the parameters typed by STS's model (DurationSeconds an int); they are checked as text.
        params = {k: self._get_param(k) for k in ("RoleArn", "PrincipalArn", "SAMLAssertion", "DurationSeconds")}
        params = {k: None if v is None else str(v) for k, v in params.items()}
        duration = params["DurationSeconds"]
        entry.update(
            roleArn=params["RoleArn"],
            principalArn=params["PrincipalArn"],
            durationSeconds=int(duration) if duration and duration.isdigit() else duration,
            response=decoded(params["SAMLAssertion"]),
        )
        checked = check(params)
    except ServiceException as e:
        record({**entry, "accepted": False, "error": {"code": e.code, "message": e.message}})
        raise
    except Exception as e:  # whatever else a hostile request causes is a refusal too, never a 500
        record({**entry, "accepted": False, "error": {"code": "InvalidIdentityToken", "message": f"Invalid SAML response ({type(e).__name__})"}})
        raise InvalidIdentityToken("Invalid SAML response")
    session = make_session(self.backend, checked)
    record({**entry, "accepted": True, "assumedRoleArn": session.arn, "sessionName": session.session_name, "sessionSeconds": checked["duration"]})
    return ActionResult(
        {
            "Credentials": session,
            "AssumedRoleUser": {"AssumedRoleId": session.user_id, "Arn": session.arn},
            "Subject": checked["subject"],
            "SubjectType": checked["subject_type"],
            "Issuer": checked["issuer"],
            "Audience": checked["audience"],
            "NameQualifier": checked["name_qualifier"],
        }
    )


def lax_assume_role_with_saml(self):
    """moto's own answer, only with the session filed under the role's account."""
    result = _original_response(self)
    session = result.result["Credentials"]
    if session.account_id != self.backend.account_id:
        self.backend.assumed_roles.remove(session)
        sts_models.sts_backends[session.account_id][session.partition].assumed_roles.append(session)
    return result


if os.environ.get("MOTO_SAML_LAX", "").lower() == "true":
    sts_responses.TokenResponse.assume_role_with_saml = lax_assume_role_with_saml
else:
    sts_responses.TokenResponse.assume_role_with_saml = assume_role_with_saml


def main():
    port = int(sys.argv[1])
    # A port taken by someone else: exit 3, so that the caller tries another one (moto would wait forever).
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as e:
            print(f"port {port} is not free: {e}", file=sys.stderr, flush=True)
            sys.exit(3)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if os.environ.get("MOTO_EXIT_ON_STDIN_EOF", "").lower() == "true":
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    print("ready", flush=True)
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
