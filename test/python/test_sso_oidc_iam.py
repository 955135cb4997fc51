"""boto3 against Gatehouse's SSO OIDC CreateTokenWithIAM: the JWT bearer grant, signed with the admin key (boto3
signs this operation alone of sso-oidc's), and an expired assertion refused with InvalidGrantException.

Run by test/sso-oidc-iam.test.ts with AWS_ENDPOINT_URL and the admin key in the environment, and:
- GATEHOUSE_IAM_APPLICATION: an application whose ActorPolicy allows the admin key and whose JWT bearer grant trusts
  the issuer of the assertions;
- GATEHOUSE_IAM_ASSERTION: a JWT of that issuer for a user assigned to the application;
- GATEHOUSE_IAM_EXPIRED_ASSERTION: the same, expired.
"""
import os
import unittest

import boto3

JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer'


class CreateTokenWithIAM(unittest.TestCase):
    def setUp(self):
        self.client = boto3.client('sso-oidc')
        self.application = os.environ['GATEHOUSE_IAM_APPLICATION']

    def test_jwt_bearer_gives_tokens(self):
        out = self.client.create_token_with_iam(clientId=self.application, grantType=JWT_BEARER, assertion=os.environ['GATEHOUSE_IAM_ASSERTION'])
        self.assertEqual(out['tokenType'], 'Bearer')
        self.assertTrue(out['accessToken'])
        self.assertTrue(out['refreshToken'])
        self.assertTrue(out['idToken'].count('.') == 2)
        self.assertGreater(out['expiresIn'], 0)
        self.assertTrue(out['awsAdditionalDetails']['identityContext'])

    def test_expired_assertion_is_refused(self):
        with self.assertRaises(self.client.exceptions.InvalidGrantException) as caught:
            self.client.create_token_with_iam(clientId=self.application, grantType=JWT_BEARER, assertion=os.environ['GATEHOUSE_IAM_EXPIRED_ASSERTION'])
        self.assertEqual(caught.exception.response['error'], 'invalid_grant')
        self.assertEqual(caught.exception.response['ResponseMetadata']['HTTPStatusCode'], 400)


if __name__ == '__main__':
    unittest.main()
