"""boto3 against Gatehouse's SSO OIDC: the device authorization flow as the AWS CLI runs it, and the errors of
that flow as botocore surfaces them (by exception class).

Run by test/boto3-sso-oidc.test.ts with:
- AWS_ENDPOINT_URL: a server whose device codes poll every second (GATEHOUSE_DEVICE_INTERVAL_SECONDS=1);
- GATEHOUSE_EXPIRING_ENDPOINT_URL: a server whose device codes also expire after 2 seconds;
- GATEHOUSE_APPROVE_URL: a hook standing in for a person on the approval page of the first server:
  POST <url>/approve or <url>/deny with {"userCode": "XXXX-XXXX"} answers 204 once decided; POST <url>/advance with
  {"seconds": N} moves both servers' clocks on by N seconds, which is how the CLI's waits pass here.

What the assertions rely on:
- sso-oidc is restJson: botocore takes the error code from the ``x-amzn-ErrorType`` header and raises the modeled
  class (``client.exceptions.AuthorizationPendingException``, ...), with the OAuth body members ``error`` and
  ``error_description`` copied to the top level of ``e.response``.
- The AWS CLI polls once before it shows the code and once straight after, then ``interval`` seconds after each answer; SlowDown adds 5 seconds to the interval
  for good, AuthorizationPending polls again, ExpiredToken aborts the login (the CLI has no timeout of its own), and
  anything else aborts too.
"""
import json
import os
import re
import time
import unittest
import urllib.request
import uuid

import boto3
from botocore import UNSIGNED
from botocore.config import Config

DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'
START_URL = 'https://d-1234567890.awsapps.com/start'
USER_CODE = r'^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$'
APPROVE_URL = os.environ['GATEHOUSE_APPROVE_URL']
EXPIRING_ENDPOINT_URL = os.environ['GATEHOUSE_EXPIRING_ENDPOINT_URL']
SLOW_DOWN_DELAY = 5


def oidc_client(endpoint_url=None):
    """An sso-oidc client as the AWS CLI makes one: unsigned, default retries."""
    kwargs = {'endpoint_url': endpoint_url} if endpoint_url else {}
    return boto3.client('sso-oidc', config=Config(signature_version=UNSIGNED), **kwargs)


def register(client, **extra):
    """RegisterClient as botocore does for an [sso-session] profile."""
    return client.register_client(clientName=f'botocore-client-{uuid.uuid4().hex[:8]}', clientType='public', scopes=['sso:account:access'], **extra)


def start(client, registration):
    return client.start_device_authorization(clientId=registration['clientId'], clientSecret=registration['clientSecret'], startUrl=START_URL)


def create_token(client, registration, authorization):
    return client.create_token(
        grantType=DEVICE_GRANT,
        clientId=registration['clientId'],
        clientSecret=registration['clientSecret'],
        deviceCode=authorization['deviceCode'],
    )


def decide(user_code, allow=True):
    """The person approves (or denies) the device on the approval page."""
    request = urllib.request.Request(
        f"{APPROVE_URL}/{'approve' if allow else 'deny'}",
        data=json.dumps({'userCode': user_code}).encode(),
        headers={'Content-Type': 'application/json'},
        method='POST',
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 204, response.status


def wait(seconds):
    """Lets `seconds` pass for the servers, as the CLI's time.sleep would, without waiting for them."""
    request = urllib.request.Request(
        f'{APPROVE_URL}/advance',
        data=json.dumps({'seconds': seconds}).encode(),
        headers={'Content-Type': 'application/json'},
        method='POST',
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 204, response.status


def poll_like_the_cli(client, registration, authorization, on_pending=lambda polls: None):
    """The AWS CLI's poll loop. Returns the token and what each poll answered; ExpiredToken and others propagate."""
    interval = authorization.get('interval', 5)
    answers = []
    while True:
        if len(answers) > 1:
            wait(interval)  # the first poll (before the code is shown) is followed by the second at once
        try:
            token = create_token(client, registration, authorization)
            answers.append('token')
            return token, answers
        except client.exceptions.SlowDownException:
            answers.append('slow_down')
            interval += SLOW_DOWN_DELAY
        except client.exceptions.AuthorizationPendingException:
            answers.append('pending')
            on_pending(answers.count('pending'))


class DeviceFlowTest(unittest.TestCase):
    def setUp(self):
        self.client = oidc_client()
        self.registration = register(self.client)

    def test_the_cli_poll_loop_gets_a_token_once_the_person_approves(self):
        authorization = start(self.client, self.registration)
        self.assertRegex(authorization['userCode'], USER_CODE)
        self.assertIn(authorization['userCode'], authorization['verificationUriComplete'])
        self.assertEqual(authorization['interval'], 1)
        self.assertEqual(authorization['expiresIn'], 600)

        def approve_after_two_polls(pending):
            if pending == 2:
                decide(authorization['userCode'])

        token, answers = poll_like_the_cli(self.client, self.registration, authorization, approve_after_two_polls)
        self.assertEqual(answers, ['pending', 'pending', 'token'], 'polling at the interval never gets SlowDown')
        self.assertEqual(token['tokenType'], 'Bearer')
        self.assertTrue(3590 <= token['expiresIn'] <= 3600, token['expiresIn'])
        self.assertGreaterEqual(len(token['accessToken']), 43)
        self.assertIn('refreshToken', token, 'a client registered with scopes gets a refresh token')

    def test_the_first_immediate_poll_is_authorization_pending(self):
        authorization = start(self.client, self.registration)
        with self.assertRaises(self.client.exceptions.AuthorizationPendingException) as caught:
            create_token(self.client, self.registration, authorization)
        response = caught.exception.response
        self.assertEqual(response['Error']['Code'], 'AuthorizationPendingException')
        self.assertEqual(response['ResponseMetadata']['HTTPStatusCode'], 400)
        self.assertEqual(response['error'], 'authorization_pending')
        self.assertTrue(response['error_description'])

    def test_polling_three_times_at_once_is_slow_down_and_the_longer_interval_is_fine(self):
        authorization = start(self.client, self.registration)
        # The first two polls at once are the CLI's start (a probe before it shows the code, one straight after).
        for _ in range(2):
            with self.assertRaises(self.client.exceptions.AuthorizationPendingException):
                create_token(self.client, self.registration, authorization)
        with self.assertRaises(self.client.exceptions.SlowDownException) as caught:
            create_token(self.client, self.registration, authorization)
        response = caught.exception.response
        self.assertEqual(response['Error']['Code'], 'SlowDownException')
        self.assertEqual(response['ResponseMetadata']['HTTPStatusCode'], 400)
        self.assertEqual(response['error'], 'slow_down')
        # The CLI now waits interval + 5 s, and from then on polls at that pace without another SlowDown.
        interval = authorization['interval'] + SLOW_DOWN_DELAY
        wait(interval)
        with self.assertRaises(self.client.exceptions.AuthorizationPendingException):
            create_token(self.client, self.registration, authorization)
        decide(authorization['userCode'])
        wait(interval)
        self.assertEqual(create_token(self.client, self.registration, authorization)['tokenType'], 'Bearer')

    def test_a_denied_device_is_access_denied(self):
        authorization = start(self.client, self.registration)
        decide(authorization['userCode'], allow=False)
        with self.assertRaises(self.client.exceptions.AccessDeniedException) as caught:
            poll_like_the_cli(self.client, self.registration, authorization)
        self.assertEqual(caught.exception.response['error'], 'access_denied')
        # What the CLI prints after "when calling the CreateToken operation:" is not empty.
        self.assertRegex(str(caught.exception), r'CreateToken operation: The request was denied: Deny was chosen')

    def test_a_redeemed_device_code_is_invalid_grant(self):
        authorization = start(self.client, self.registration)
        decide(authorization['userCode'])
        create_token(self.client, self.registration, authorization)
        with self.assertRaises(self.client.exceptions.InvalidGrantException) as caught:
            create_token(self.client, self.registration, authorization)
        self.assertEqual(caught.exception.response['error'], 'invalid_grant')

    def test_refresh_rotates_and_a_retired_refresh_token_revokes_the_chain(self):
        authorization = start(self.client, self.registration)
        decide(authorization['userCode'])
        first = create_token(self.client, self.registration, authorization)

        def refresh(refresh_token):
            return self.client.create_token(
                grantType='refresh_token',
                clientId=self.registration['clientId'],
                clientSecret=self.registration['clientSecret'],
                refreshToken=refresh_token,
            )

        second = refresh(first['refreshToken'])
        self.assertNotEqual(second['accessToken'], first['accessToken'])
        self.assertNotEqual(second['refreshToken'], first['refreshToken'])
        with self.assertRaises(self.client.exceptions.InvalidGrantException):
            refresh(first['refreshToken'])
        with self.assertRaises(self.client.exceptions.InvalidGrantException):
            refresh(second['refreshToken'])


class ExpiryTest(unittest.TestCase):
    def test_the_cli_poll_loop_ends_with_expired_token(self):
        client = oidc_client(EXPIRING_ENDPOINT_URL)
        registration = register(client)
        authorization = start(client, registration)
        self.assertEqual(authorization['expiresIn'], 2)
        answers = []
        with self.assertRaises(client.exceptions.ExpiredTokenException) as caught:
            poll_like_the_cli(client, registration, authorization, lambda pending: answers.append('pending'))
        # Each pending answer is followed by a wait of the 1-second interval on the servers' clocks.
        self.assertTrue(2 <= len(answers) < 5, f'ExpiredToken after {len(answers)} s, expiresIn is 2 s')
        response = caught.exception.response
        self.assertEqual(response['Error']['Code'], 'ExpiredTokenException')
        self.assertEqual(response['ResponseMetadata']['HTTPStatusCode'], 400)
        self.assertEqual(response['error'], 'expired_token')


class ClientErrorsTest(unittest.TestCase):
    def setUp(self):
        self.client = oidc_client()

    def test_a_wrong_secret_is_invalid_client(self):
        registration = register(self.client)
        with self.assertRaises(self.client.exceptions.InvalidClientException) as caught:
            self.client.start_device_authorization(clientId=registration['clientId'], clientSecret='wrong', startUrl=START_URL)
        response = caught.exception.response
        self.assertEqual(response['Error']['Code'], 'InvalidClientException')
        self.assertEqual(response['ResponseMetadata']['HTTPStatusCode'], 401)
        self.assertEqual(response['error'], 'invalid_client')
        authorization = start(self.client, registration)
        with self.assertRaises(self.client.exceptions.InvalidClientException):
            create_token(self.client, {**registration, 'clientSecret': 'wrong'}, authorization)

    def test_registration_errors(self):
        with self.assertRaises(self.client.exceptions.InvalidClientMetadataException):
            self.client.register_client(clientName='botocore-client-x', clientType='confidential')
        with self.assertRaises(self.client.exceptions.InvalidRedirectUriException):
            self.client.register_client(clientName='botocore-client-x', clientType='public', grantTypes=['authorization_code'], redirectUris=['http://example.com/cb'])
        with self.assertRaises(self.client.exceptions.InvalidRedirectUriException):
            self.client.register_client(clientName='botocore-client-x', clientType='public', grantTypes=['authorization_code', 'refresh_token'])

    def test_registration(self):
        before = time.time()
        registration = register(self.client)
        self.assertTrue(registration['clientId'] and registration['clientSecret'])
        self.assertLessEqual(abs(registration['clientIdIssuedAt'] - before), 5)
        self.assertLessEqual(abs(registration['clientSecretExpiresAt'] - (before + 90 * 86400)), 5)
        self.assertTrue(re.match(r'^\S+$', registration['clientSecret']))


if __name__ == '__main__':
    unittest.main()
