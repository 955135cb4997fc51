"""boto3 against Gatehouse's sso-admin: an application's access scopes, authentication methods and grants -- each of
the 12 operations once with success and once with a modeled error, as botocore sends and parses them.

Run by test/boto3-sso-admin-application-settings.test.ts with AWS_ENDPOINT_URL and the test admin key set, and
GATEHOUSE_APPLICATION_ARNS: a JSON list of two applications of the organization instance, made for these tests
(CreateApplication is not what they are about). ``ZzCoverageTests`` (last, as unittest orders classes by name) checks
that each operation in COVERED_OPERATIONS succeeded and failed with a modeled error; test_sso_admin.py leaves these to
this script.
"""
import collections
import json
import os
import unittest

import boto3
import botocore.config

COVERED_OPERATIONS = [
    'PutApplicationAccessScope',
    'GetApplicationAccessScope',
    'DeleteApplicationAccessScope',
    'ListApplicationAccessScopes',
    'PutApplicationAuthenticationMethod',
    'GetApplicationAuthenticationMethod',
    'DeleteApplicationAuthenticationMethod',
    'ListApplicationAuthenticationMethods',
    'PutApplicationGrant',
    'GetApplicationGrant',
    'DeleteApplicationGrant',
    'ListApplicationGrants',
]

APPLICATION, OTHER_APPLICATION = json.loads(os.environ['GATEHOUSE_APPLICATION_ARNS'])
# The same ARN with the id of no application.
UNKNOWN_APPLICATION = APPLICATION.rsplit('/', 1)[0] + '/apl-0000000000000000'
# Well formed, but no trusted token issuer has it.
UNKNOWN_TRUSTED_TOKEN_ISSUER = 'arn:aws:sso::123456789012:trustedTokenIssuer/ssoins-1111111111111111/tti-12345678-1234-1234-1234-123456789012'
ACTOR_POLICY = {
    'Version': '2012-10-17',
    'Statement': [{'Effect': 'Allow', 'Principal': {'AWS': 'arn:aws:iam::111122223333:role/Caller'}, 'Action': 'sso-oauth:CreateTokenWithIAM', 'Resource': '*'}],
}

# Operation name -> outcomes seen through boto3: 'OK' or an error code.
OUTCOMES = collections.defaultdict(set)


def record_outcome(http_response, parsed, model, **_):
    OUTCOMES[model.name].add(parsed.get('Error', {}).get('Code', '?') if http_response.status_code >= 300 else 'OK')


def make_admin(**config):
    client = boto3.client('sso-admin', config=botocore.config.Config(retries={'mode': 'standard', 'total_max_attempts': 1}, **config))
    client.meta.events.register('after-call.sso-admin', record_outcome)
    return client


class SettingsTestCase(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.admin = make_admin()
        cls.instance_arn = cls.admin.list_instances()['Instances'][0]['InstanceArn']

    def assertError(self, code, call, **params):
        with self.assertRaises(getattr(self.admin.exceptions, code)) as caught:
            call(**params)
        self.assertEqual(caught.exception.response['ResponseMetadata']['HTTPStatusCode'], 400)
        return caught.exception.response['Error']['Message']

    @staticmethod
    def without_metadata(response):
        return {k: v for k, v in response.items() if k != 'ResponseMetadata'}


class AccessScopeTests(SettingsTestCase):
    def test_put_get_list_delete(self):
        self.admin.put_application_access_scope(ApplicationArn=APPLICATION, Scope='sso:account:access', AuthorizedTargets=[OTHER_APPLICATION])
        self.admin.put_application_access_scope(ApplicationArn=APPLICATION, Scope='redshift:connect')
        got = self.admin.get_application_access_scope(ApplicationArn=APPLICATION, Scope='sso:account:access')
        self.assertEqual(self.without_metadata(got), {'Scope': 'sso:account:access', 'AuthorizedTargets': [OTHER_APPLICATION]})
        pages = list(self.admin.get_paginator('list_application_access_scopes').paginate(ApplicationArn=APPLICATION, PaginationConfig={'PageSize': 1}))
        self.assertEqual(len(pages), 2)
        self.assertEqual([s['Scope'] for p in pages for s in p['Scopes']], ['redshift:connect', 'sso:account:access'])
        for scope in ('sso:account:access', 'redshift:connect'):
            self.admin.delete_application_access_scope(ApplicationArn=APPLICATION, Scope=scope)
        self.assertEqual(self.admin.list_application_access_scopes(ApplicationArn=APPLICATION)['Scopes'], [])

    def test_errors(self):
        self.assertError('ResourceNotFoundException', self.admin.put_application_access_scope, ApplicationArn=UNKNOWN_APPLICATION, Scope='sso:account:access')
        self.assertError('ResourceNotFoundException', self.admin.get_application_access_scope, ApplicationArn=APPLICATION, Scope='never:put')
        self.assertError('ResourceNotFoundException', self.admin.delete_application_access_scope, ApplicationArn=APPLICATION, Scope='never:put')
        self.assertError('ValidationException', self.admin.list_application_access_scopes, ApplicationArn=APPLICATION, NextToken='not-a-token')


class AuthenticationMethodTests(SettingsTestCase):
    def test_put_get_list_delete(self):
        method = {'Iam': {'ActorPolicy': ACTOR_POLICY}}
        self.admin.put_application_authentication_method(ApplicationArn=APPLICATION, AuthenticationMethodType='IAM', AuthenticationMethod=method)
        got = self.admin.get_application_authentication_method(ApplicationArn=APPLICATION, AuthenticationMethodType='IAM')
        self.assertEqual(self.without_metadata(got), {'AuthenticationMethod': method})
        listed = self.admin.list_application_authentication_methods(ApplicationArn=APPLICATION)
        self.assertEqual(listed['AuthenticationMethods'], [{'AuthenticationMethodType': 'IAM', 'AuthenticationMethod': method}])
        self.assertNotIn('NextToken', listed)
        self.admin.delete_application_authentication_method(ApplicationArn=APPLICATION, AuthenticationMethodType='IAM')

    def test_errors(self):
        message = self.assertError(
            'ValidationException',
            self.admin.put_application_authentication_method,
            ApplicationArn=APPLICATION,
            AuthenticationMethodType='IAM',
            AuthenticationMethod={'Iam': {'ActorPolicy': {'Version': '2012-10-17'}}},
        )
        self.assertIn('Statement', message)
        self.assertError('ResourceNotFoundException', self.admin.get_application_authentication_method, ApplicationArn=OTHER_APPLICATION, AuthenticationMethodType='IAM')
        self.assertError('ResourceNotFoundException', self.admin.delete_application_authentication_method, ApplicationArn=OTHER_APPLICATION, AuthenticationMethodType='IAM')
        self.assertError('ResourceNotFoundException', self.admin.list_application_authentication_methods, ApplicationArn=UNKNOWN_APPLICATION)


class GrantTests(SettingsTestCase):
    def test_put_get_list_delete(self):
        issuer = self.admin.create_trusted_token_issuer(
            InstanceArn=self.instance_arn,
            Name='grant-issuer',
            TrustedTokenIssuerType='OIDC_JWT',
            TrustedTokenIssuerConfiguration={
                'OidcJwtConfiguration': {
                    'IssuerUrl': 'https://idp.example.com',
                    'ClaimAttributePath': 'email',
                    'IdentityStoreAttributePath': 'emails.value',
                    'JwksRetrievalOption': 'OPEN_ID_DISCOVERY',
                },
            },
        )['TrustedTokenIssuerArn']
        grants = {
            'authorization_code': {'AuthorizationCode': {'RedirectUris': ['https://app.example.com/callback']}},
            'refresh_token': {'RefreshToken': {}},
            'urn:ietf:params:oauth:grant-type:jwt-bearer': {
                'JwtBearer': {'AuthorizedTokenIssuers': [{'TrustedTokenIssuerArn': issuer, 'AuthorizedAudiences': ['my-app']}]},
            },
            'urn:ietf:params:oauth:grant-type:token-exchange': {'TokenExchange': {}},
        }
        for grant_type, grant in grants.items():
            self.admin.put_application_grant(ApplicationArn=APPLICATION, GrantType=grant_type, Grant=grant)
        got = self.admin.get_application_grant(ApplicationArn=APPLICATION, GrantType='authorization_code')
        # The grant alone, without its type.
        self.assertEqual(self.without_metadata(got), {'Grant': grants['authorization_code']})
        listed = [g for page in self.admin.get_paginator('list_application_grants').paginate(ApplicationArn=APPLICATION) for g in page['Grants']]
        self.assertEqual({g['GrantType']: g['Grant'] for g in listed}, grants)
        for grant_type in grants:
            self.admin.delete_application_grant(ApplicationArn=APPLICATION, GrantType=grant_type)
        self.assertEqual(self.admin.list_application_grants(ApplicationArn=APPLICATION)['Grants'], [])
        self.admin.delete_trusted_token_issuer(TrustedTokenIssuerArn=issuer)
        # An issuer that does not exist.
        message = self.assertError(
            'ResourceNotFoundException',
            self.admin.put_application_grant,
            ApplicationArn=APPLICATION,
            GrantType='urn:ietf:params:oauth:grant-type:jwt-bearer',
            Grant={'JwtBearer': {'AuthorizedTokenIssuers': [{'TrustedTokenIssuerArn': UNKNOWN_TRUSTED_TOKEN_ISSUER}]}},
        )
        self.assertIn(UNKNOWN_TRUSTED_TOKEN_ISSUER, message)

    def test_errors(self):
        # A member other than the one the GrantType names.
        message = self.assertError(
            'ValidationException',
            self.admin.put_application_grant,
            ApplicationArn=APPLICATION,
            GrantType='refresh_token',
            Grant={'TokenExchange': {}},
        )
        self.assertIn('RefreshToken', message)
        self.assertError('ResourceNotFoundException', self.admin.get_application_grant, ApplicationArn=APPLICATION, GrantType='refresh_token')
        self.assertError('ResourceNotFoundException', self.admin.delete_application_grant, ApplicationArn=APPLICATION, GrantType='refresh_token')
        self.assertError('ResourceNotFoundException', self.admin.list_application_grants, ApplicationArn=UNKNOWN_APPLICATION)


class ZzCoverageTests(unittest.TestCase):
    """Runs last and looks at what the tests before it did through boto3."""

    def test_the_operations_are_in_botocores_model_and_answered(self):
        model = boto3.client('sso-admin').meta.service_model
        self.assertLessEqual(set(COVERED_OPERATIONS), set(model.operation_names))
        implemented = set(json.loads(os.environ['GATEHOUSE_IMPLEMENTED_OPERATIONS'])['sso-admin'])
        self.assertLessEqual(set(COVERED_OPERATIONS), implemented)

    def test_every_operation_succeeded_and_failed_with_a_modeled_error(self):
        if not OUTCOMES:
            self.fail('no sso-admin call was recorded: run the whole module, not this class alone')
        modeled_errors = {shape.name for shape in boto3.client('sso-admin').meta.service_model.error_shapes}
        self.assertEqual(sorted(op for op in COVERED_OPERATIONS if 'OK' not in OUTCOMES[op]), [], 'operations never called successfully')
        self.assertEqual(sorted(op for op in COVERED_OPERATIONS if not (OUTCOMES[op] - {'OK'})), [], 'operations whose error path was never exercised')
        self.assertLessEqual(set().union(*OUTCOMES.values()) - {'OK'}, modeled_errors, 'every error answered is one botocore models')


if __name__ == '__main__':
    unittest.main()
