"""boto3's SSO credential provider against Gatehouse, configured only by ``gatehouse configure-cli``.

Run by test/boto3-sso-session.test.ts, which prepares a temporary HOME: ``configure-cli`` wrote ~/.aws/config (an
[sso-session], a profile with sso_account_id/sso_role_name and ``services = <profile>-services``, the [services]
section) and the endpoint rule set overrides under ~/.aws/models; a real token of an entitled user is in
~/.aws/sso/cache/<sha1 of the session name>.json as ``aws sso login`` leaves it. Environment:
HOME, AWS_CONFIG_FILE, GATEHOUSE_URL, GATEHOUSE_PROFILE, GATEHOUSE_SESSION, GATEHOUSE_ACCOUNT_ID, GATEHOUSE_ROLE_NAME,
GATEHOUSE_USER_NAME.

botocore finds Gatehouse in two ways, each tested alone here:
- the profile's [services] section (botocore >= 1.31, "configured endpoints");
- the rule set overrides in ~/.aws/models (what AWS CLI 2.9.19 / botocore 1.29 needs); with
  AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true botocore ignores the [services] section and falls back on them.
"""
import datetime
import hashlib
import json
import os
import re
import unittest
from contextlib import contextmanager

# Nothing from the wrapper's admin environment may decide where requests go or who makes them: only the HOME does.
for name in list(os.environ):
    if name.startswith('AWS_ENDPOINT_URL') or name in ('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_DEFAULT_PROFILE'):
        del os.environ[name]

import boto3  # noqa: E402  (after the environment is cleaned: botocore reads HOME when imported)
from botocore import UNSIGNED  # noqa: E402
from botocore.config import Config  # noqa: E402

URL = os.environ['GATEHOUSE_URL']
PROFILE = os.environ['GATEHOUSE_PROFILE']
SESSION = os.environ['GATEHOUSE_SESSION']
ACCOUNT_ID = os.environ['GATEHOUSE_ACCOUNT_ID']
ROLE_NAME = os.environ['GATEHOUSE_ROLE_NAME']
USER_NAME = os.environ['GATEHOUSE_USER_NAME']
AWS_DIR = os.path.join(os.environ['HOME'], '.aws')
CACHE_FILE = os.path.join(AWS_DIR, 'sso', 'cache', hashlib.sha1(SESSION.encode()).hexdigest() + '.json')
ARN = re.compile(rf'^arn:aws:sts::{ACCOUNT_ID}:assumed-role/AWSReservedSSO_{ROLE_NAME}_[0-9a-f]{{16}}/{USER_NAME}$')


def read_cache():
    with open(CACHE_FILE) as f:
        return json.load(f)


def write_cache(token):
    with open(CACHE_FILE, 'w') as f:
        json.dump(token, f, indent=2)
    os.chmod(CACHE_FILE, 0o600)


def cache_time(when):
    """The cache's form: YYYY-MM-DDTHH:MM:SSZ, UTC."""
    return when.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def parse_cache_time(text):
    return datetime.datetime.strptime(text, '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=datetime.timezone.utc)


@contextmanager
def without_models():
    """Hides the rule set overrides, so that only the [services] section can point botocore at Gatehouse."""
    models = os.path.join(AWS_DIR, 'models')
    os.rename(models, models + '.hidden')
    try:
        yield
    finally:
        os.rename(models + '.hidden', models)


@contextmanager
def ignoring_configured_endpoints():
    """botocore's switch for "configured endpoints": the [services] section (and AWS_ENDPOINT_URL*) no longer count."""
    os.environ['AWS_IGNORE_CONFIGURED_ENDPOINT_URLS'] = 'true'
    try:
        yield
    finally:
        del os.environ['AWS_IGNORE_CONFIGURED_ENDPOINT_URLS']


class _Recorded(Exception):
    pass


# One operation per service, to see where botocore sends it.
PROBES = {
    'sso': ('get_role_credentials', {'roleName': 'x', 'accountId': '111122223333', 'accessToken': 'x'}),
    'sso-oidc': ('register_client', {'clientName': 'x', 'clientType': 'public'}),
    'sso-admin': ('list_instances', {}),
    'identitystore': ('list_users', {'IdentityStoreId': 'd-1234567890'}),
    'sts': ('get_caller_identity', {}),
}


def request_origins(session):
    """Where each service's requests go, by the URL of a request stopped just before it is sent. (``meta.endpoint_url``
    does not tell: with endpoint rule sets the URL is resolved per request.)"""
    origins = {}
    for service, (operation, params) in PROBES.items():
        client = session.client(service, config=Config(signature_version=UNSIGNED, retries={'max_attempts': 0}))

        def record(request, **_):
            origins[service] = request.url.split('/')[0] + '//' + request.url.split('/')[2]
            raise _Recorded()

        client.meta.events.register('before-send', record)
        try:
            getattr(client, operation)(**params)
        except _Recorded:
            pass
    return origins


class SsoSessionProfile(unittest.TestCase):
    def assert_role_credentials_work(self):
        """A fresh Session of the profile: the SSO credential provider gets role credentials, STS knows them."""
        session = boto3.Session(profile_name=PROFILE)
        credentials = session.get_credentials()
        self.assertEqual(credentials.method, 'sso')
        frozen = credentials.get_frozen_credentials()
        self.assertTrue(frozen.access_key.startswith('ASIA'), frozen.access_key)
        # No endpoint in code: the configuration sends STS to Gatehouse too.
        identity = session.client('sts').get_caller_identity()
        self.assertEqual(identity['Account'], ACCOUNT_ID)
        self.assertRegex(identity['Arn'], ARN)
        return session

    def test_services_section(self):
        with without_models():
            session = self.assert_role_credentials_work()
            self.assertEqual(request_origins(session), {service: URL for service in PROBES})

    def test_endpoint_rule_set_overrides(self):
        with ignoring_configured_endpoints():
            session = self.assert_role_credentials_work()
            self.assertEqual(request_origins(session), {service: URL for service in PROBES})

    def test_each_mechanism_is_needed(self):
        """Without either, botocore goes to AWS: so the two tests above each prove their own mechanism."""
        with without_models(), ignoring_configured_endpoints():
            origins = request_origins(boto3.Session(profile_name=PROFILE))
            self.assertEqual(origins['sso'], 'https://portal.sso.us-east-1.amazonaws.com')
            self.assertEqual(origins['sso-oidc'], 'https://oidc.us-east-1.amazonaws.com')
            self.assertEqual(origins['sts'], 'https://sts.us-east-1.amazonaws.com')

    def test_refreshes_an_expiring_token(self):
        """botocore refreshes a token with less than 15 minutes left (CreateToken, grant refresh_token) and saves it."""
        before = read_cache()
        soon = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=5)
        write_cache({**before, 'expiresAt': cache_time(soon)})
        with without_models():
            self.assert_role_credentials_work()
        after = read_cache()
        self.assertNotEqual(after['accessToken'], before['accessToken'], 'a new access token')
        self.assertTrue(after.get('refreshToken'), 'the refresh response carried a refresh token')
        self.assertNotEqual(after['refreshToken'], before['refreshToken'], 'the refresh token was rotated')
        self.assertEqual(after['clientId'], before['clientId'])
        self.assertEqual(after['startUrl'], before['startUrl'])
        expires = parse_cache_time(after['expiresAt'])
        left = expires - datetime.datetime.now(datetime.timezone.utc)
        self.assertGreater(left, datetime.timedelta(minutes=50), f'a fresh hour-long token, expiresAt {after["expiresAt"]}')

        # And the rotated refresh token works in turn (a second refresh, through the rule set overrides this time).
        write_cache({**after, 'expiresAt': cache_time(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=5))})
        with ignoring_configured_endpoints():
            self.assert_role_credentials_work()
        again = read_cache()
        self.assertNotEqual(again['accessToken'], after['accessToken'])
        self.assertNotEqual(again['refreshToken'], after['refreshToken'])


if __name__ == '__main__':
    unittest.main()
