"""boto3 against Gatehouse's sso-admin trusted token issuers and regions: each operation once, its errors as botocore
surfaces them, and a check that every one of the nine succeeded and failed with a modeled error.

Run by test/boto3-sso-admin-issuers-regions.test.ts with AWS_ENDPOINT_URL and the test admin key set, against a
server whose region workflows take GATEHOUSE_REGION_DELAY_SECONDS (a few hundred milliseconds): a region is first
seen ADDING or REMOVING and then ACTIVE or gone.
"""
import collections
import os
import re
import time
import unittest
import uuid

import boto3
import botocore.config

DELAY = float(os.environ['GATEHOUSE_REGION_DELAY_SECONDS'])
PRIMARY = os.environ['AWS_REGION']
TTI_ARN_PATTERN = r'^arn:aws:sso::\d{12}:trustedTokenIssuer/ssoins-[0-9a-f]{16}/tti-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$'
UNKNOWN_INSTANCE = 'arn:aws:sso:::instance/ssoins-0000000000000000'

# The operations this script covers (test_sso_admin.py leaves them to it).
COVERED_OPERATIONS = ['CreateTrustedTokenIssuer', 'DescribeTrustedTokenIssuer', 'UpdateTrustedTokenIssuer', 'DeleteTrustedTokenIssuer',
              'ListTrustedTokenIssuers', 'AddRegion', 'RemoveRegion', 'DescribeRegion', 'ListRegions']
OPERATIONS = set(COVERED_OPERATIONS)
OUTCOMES = collections.defaultdict(set)


def record_outcome(http_response, parsed, model, **_):
    OUTCOMES[model.name].add(parsed.get('Error', {}).get('Code', '?') if http_response.status_code >= 300 else 'OK')


def make_admin():
    client = boto3.client('sso-admin', config=botocore.config.Config(retries={'mode': 'standard', 'total_max_attempts': 1}))
    client.meta.events.register('after-call.sso-admin', record_outcome)
    return client


def oidc(issuer_url='https://idp.example.com'):
    return {'OidcJwtConfiguration': {'IssuerUrl': issuer_url, 'ClaimAttributePath': 'email',
                                     'IdentityStoreAttributePath': 'emails.value', 'JwksRetrievalOption': 'OPEN_ID_DISCOVERY'}}


class Case(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.admin = make_admin()
        instances = cls.admin.list_instances()['Instances']
        cls.instance_arn = min(instances, key=lambda i: i['CreatedDate'])['InstanceArn']

    def assertError(self, code, operation, **params):
        with self.assertRaises(getattr(self.admin.exceptions, code)) as caught:
            getattr(self.admin, operation)(**params)
        response = caught.exception.response
        self.assertEqual(response['Error']['Code'], code)
        self.assertEqual(response['ResponseMetadata']['HTTPStatusCode'], 400)
        return response


class TrustedTokenIssuerTests(Case):
    def test_life_cycle(self):
        token = str(uuid.uuid4())
        params = dict(InstanceArn=self.instance_arn, Name='corporate-idp', TrustedTokenIssuerType='OIDC_JWT',
                      TrustedTokenIssuerConfiguration=oidc(), ClientToken=token, Tags=[{'Key': 'team', 'Value': 'data'}])
        arn = self.admin.create_trusted_token_issuer(**params)['TrustedTokenIssuerArn']
        self.assertRegex(arn, TTI_ARN_PATTERN)
        self.assertEqual(self.admin.create_trusted_token_issuer(**params)['TrustedTokenIssuerArn'], arn, 'a retry answers the same issuer')

        described = self.admin.describe_trusted_token_issuer(TrustedTokenIssuerArn=arn)
        described.pop('ResponseMetadata')
        self.assertEqual(described, {'TrustedTokenIssuerArn': arn, 'Name': 'corporate-idp', 'TrustedTokenIssuerType': 'OIDC_JWT',
                                     'TrustedTokenIssuerConfiguration': oidc()})

        self.admin.update_trusted_token_issuer(TrustedTokenIssuerArn=arn, Name='renamed',
                                               TrustedTokenIssuerConfiguration={'OidcJwtConfiguration': {'ClaimAttributePath': 'sub'}})
        described = self.admin.describe_trusted_token_issuer(TrustedTokenIssuerArn=arn)
        self.assertEqual(described['Name'], 'renamed')
        self.assertEqual(described['TrustedTokenIssuerConfiguration']['OidcJwtConfiguration']['ClaimAttributePath'], 'sub')
        self.assertEqual(described['TrustedTokenIssuerConfiguration']['OidcJwtConfiguration']['IssuerUrl'], 'https://idp.example.com')
        self.assertEqual(self.admin.list_tags_for_resource(ResourceArn=arn)['Tags'], [{'Key': 'team', 'Value': 'data'}])

        second = self.admin.create_trusted_token_issuer(InstanceArn=self.instance_arn, Name='second', TrustedTokenIssuerType='OIDC_JWT',
                                                        TrustedTokenIssuerConfiguration=oidc('https://other.example.com'))['TrustedTokenIssuerArn']
        pages = list(self.admin.get_paginator('list_trusted_token_issuers').paginate(InstanceArn=self.instance_arn, PaginationConfig={'PageSize': 1}))
        listed = [t for page in pages for t in page['TrustedTokenIssuers']]
        self.assertEqual(sorted(t['TrustedTokenIssuerArn'] for t in listed), sorted([arn, second]))
        self.assertEqual({t['Name'] for t in listed}, {'renamed', 'second'})
        self.assertTrue(all(set(t) == {'TrustedTokenIssuerArn', 'Name', 'TrustedTokenIssuerType'} for t in listed))

        self.admin.delete_trusted_token_issuer(TrustedTokenIssuerArn=arn)
        self.admin.delete_trusted_token_issuer(TrustedTokenIssuerArn=second)
        self.assertEqual(self.admin.list_trusted_token_issuers(InstanceArn=self.instance_arn)['TrustedTokenIssuers'], [])

    def test_errors(self):
        arn = self.admin.create_trusted_token_issuer(InstanceArn=self.instance_arn, Name='errors', TrustedTokenIssuerType='OIDC_JWT',
                                                     TrustedTokenIssuerConfiguration=oidc())['TrustedTokenIssuerArn']
        self.addCleanup(self.admin.delete_trusted_token_issuer, TrustedTokenIssuerArn=arn)
        unknown = re.sub(r'tti-.*$', 'tti-00000000-0000-0000-0000-000000000000', arn)
        self.assertError('ConflictException', 'create_trusted_token_issuer', InstanceArn=self.instance_arn, Name='errors',
                         TrustedTokenIssuerType='OIDC_JWT', TrustedTokenIssuerConfiguration=oidc())
        self.assertError('ValidationException', 'create_trusted_token_issuer', InstanceArn=self.instance_arn, Name='plain-http',
                         TrustedTokenIssuerType='OIDC_JWT', TrustedTokenIssuerConfiguration=oidc('http://idp.example.com'))
        self.assertError('ResourceNotFoundException', 'describe_trusted_token_issuer', TrustedTokenIssuerArn=unknown)
        self.assertError('ResourceNotFoundException', 'update_trusted_token_issuer', TrustedTokenIssuerArn=unknown, Name='x')
        self.assertError('ResourceNotFoundException', 'delete_trusted_token_issuer', TrustedTokenIssuerArn=unknown)
        self.assertError('ValidationException', 'list_trusted_token_issuers', InstanceArn=self.instance_arn, NextToken='not-a-token')


class RegionTests(Case):
    def wait_for(self, region, wanted):
        """Polls DescribeRegion until the region's status is `wanted` (None: gone); returns the statuses seen."""
        seen = []
        deadline = time.monotonic() + 15
        while True:
            try:
                status = self.admin.describe_region(InstanceArn=self.instance_arn, RegionName=region)['Status']
            except self.admin.exceptions.ResourceNotFoundException:
                status = None
            if not seen or seen[-1] != status:
                seen.append(status)
            if status == wanted:
                return seen
            if time.monotonic() > deadline:
                self.fail(f'{region} is still {status}')
            time.sleep(DELAY / 10)

    def test_add_describe_list_remove(self):
        primary = self.admin.describe_region(InstanceArn=self.instance_arn, RegionName=PRIMARY)
        self.assertEqual((primary['Status'], primary['IsPrimaryRegion']), ('ACTIVE', True))

        self.assertEqual(self.admin.add_region(InstanceArn=self.instance_arn, RegionName='eu-west-1')['Status'], 'ADDING')
        self.assertEqual(self.wait_for('eu-west-1', 'ACTIVE'), ['ADDING', 'ACTIVE'])
        regions = [r for page in self.admin.get_paginator('list_regions').paginate(InstanceArn=self.instance_arn, PaginationConfig={'PageSize': 1})
                   for r in page['Regions']]
        self.assertEqual([(r['RegionName'], r['Status'], r['IsPrimaryRegion']) for r in regions],
                         [('eu-west-1', 'ACTIVE', False), (PRIMARY, 'ACTIVE', True)])

        self.assertEqual(self.admin.remove_region(InstanceArn=self.instance_arn, RegionName='eu-west-1')['Status'], 'REMOVING')
        self.assertEqual(self.wait_for('eu-west-1', None), ['REMOVING', None])

    def test_errors(self):
        self.assertError('ConflictException', 'add_region', InstanceArn=self.instance_arn, RegionName=PRIMARY)
        self.assertError('ValidationException', 'remove_region', InstanceArn=self.instance_arn, RegionName=PRIMARY)
        self.assertError('ValidationException', 'add_region', InstanceArn=self.instance_arn, RegionName='Not_A_Region')
        self.assertError('ResourceNotFoundException', 'remove_region', InstanceArn=self.instance_arn, RegionName='ap-south-2')
        self.assertError('ResourceNotFoundException', 'describe_region', InstanceArn=self.instance_arn, RegionName='ap-south-2')
        self.assertError('ValidationException', 'list_regions', InstanceArn=self.instance_arn, NextToken='not-a-token')


class ZzCoverageTests(unittest.TestCase):
    """Runs last (unittest orders test classes by name)."""

    def test_every_operation_succeeded_and_failed_with_a_modeled_error(self):
        model = boto3.client('sso-admin').meta.service_model
        modeled_errors = {shape.name for shape in model.error_shapes}
        self.assertEqual(sorted(op for op in OPERATIONS if 'OK' not in OUTCOMES[op]), [], 'operations never called successfully')
        self.assertEqual(sorted(op for op in OPERATIONS if not (OUTCOMES[op] - {'OK'})), [], 'operations whose error path was never exercised')
        self.assertLessEqual(set().union(*OUTCOMES.values()) - {'OK'}, modeled_errors, 'every error answered is one botocore models')


if __name__ == '__main__':
    unittest.main()
