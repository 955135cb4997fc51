"""boto3 against Gatehouse's sso-admin applications: the application providers, customer managed applications, their
assignments and configurations, and tags on them, as botocore surfaces results and errors; and the life cycle
Terraform drives for an application with an assignment.

Run by test/boto3-sso-admin-applications.test.ts with AWS_ENDPOINT_URL and the test admin key set.
``ZzApplicationCoverageTests`` (last, as unittest orders classes by name) checks that each application operation
succeeded at least once and failed with a modeled error at least once; it needs the whole module to run.
"""
import collections
import datetime
import os
import unittest
import uuid

import boto3
import botocore.config

CUSTOM = 'arn:aws:sso::aws:applicationProvider/custom'
CUSTOM_SAML = 'arn:aws:sso::aws:applicationProvider/custom-saml'
APPLICATION_ARN_PATTERN = r'^arn:aws:sso::\d{12}:application/ssoins-[0-9a-f]{16}/apl-[0-9a-f]{16}$'
UNKNOWN_INSTANCE = 'arn:aws:sso:::instance/ssoins-0000000000000000'
NO_SUCH_PRINCIPAL = '00000000-0000-4000-8000-000000000000'

# The operations this script covers (test_sso_admin.py leaves them to it).
COVERED_OPERATIONS = [
    'CreateApplication', 'DescribeApplication', 'UpdateApplication', 'DeleteApplication', 'ListApplications',
    'ListApplicationProviders', 'DescribeApplicationProvider', 'CreateApplicationAssignment',
    'DescribeApplicationAssignment', 'DeleteApplicationAssignment', 'ListApplicationAssignments',
    'ListApplicationAssignmentsForPrincipal', 'GetApplicationAssignmentConfiguration',
    'PutApplicationAssignmentConfiguration', 'GetApplicationSessionConfiguration', 'PutApplicationSessionConfiguration',
]
APPLICATION_OPERATIONS = set(COVERED_OPERATIONS)

# Operation name -> outcomes seen through boto3: 'OK' or an error code.
OUTCOMES = collections.defaultdict(set)


def record_outcome(http_response, parsed, model, **_):
    OUTCOMES[model.name].add(parsed.get('Error', {}).get('Code', '?') if http_response.status_code >= 300 else 'OK')


def client_config():
    return botocore.config.Config(retries={'mode': 'standard', 'total_max_attempts': 1})


def unique(prefix):
    return f'{prefix}-{uuid.uuid4().hex[:10]}'


class ApplicationTestCase(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.admin = boto3.client('sso-admin', config=client_config())
        cls.admin.meta.events.register('after-call.sso-admin', record_outcome)
        cls.store = boto3.client('identitystore', config=client_config())
        instances = cls.admin.list_instances()['Instances']
        instance = min(instances, key=lambda i: i['CreatedDate'])
        cls.instance_arn = instance['InstanceArn']
        cls.store_id = instance['IdentityStoreId']
        cls.owner = instance['OwnerAccountId']
        instance_id = cls.instance_arn.rsplit('/', 1)[1]
        cls.unknown_application = f'arn:aws:sso::{cls.owner}:application/{instance_id}/apl-0000000000000000'

    def create_application(self, **params):
        params.setdefault('Name', unique('app'))
        arn = self.admin.create_application(InstanceArn=self.instance_arn, ApplicationProviderArn=CUSTOM, **params)['ApplicationArn']
        self.addCleanup(self.delete_quietly, arn)
        return arn

    def delete_quietly(self, arn):
        try:
            self.admin.delete_application(ApplicationArn=arn)
        except self.admin.exceptions.ResourceNotFoundException:
            pass

    def create_user(self):
        name = unique('user')
        return self.store.create_user(
            IdentityStoreId=self.store_id, UserName=name, DisplayName=name, Name={'GivenName': 'A', 'FamilyName': 'B'})['UserId']

    def assertError(self, code, call, **params):
        with self.assertRaises(self.admin.exceptions.ClientError) as caught:
            call(**params)
        self.assertEqual(caught.exception.response['Error']['Code'], code)
        self.assertEqual(caught.exception.response['ResponseMetadata']['HTTPStatusCode'], 400)


class ProviderTests(ApplicationTestCase):
    def test_list_and_describe_providers(self):
        providers = [p for page in self.admin.get_paginator('list_application_providers').paginate(PaginationConfig={'PageSize': 1})
                     for p in page['ApplicationProviders']]
        self.assertEqual([(p['ApplicationProviderArn'], p['FederationProtocol']) for p in providers],
                         [(CUSTOM, 'OAUTH'), (CUSTOM_SAML, 'SAML')])
        described = self.admin.describe_application_provider(ApplicationProviderArn=CUSTOM)
        self.assertEqual(described['ResourceServerConfig'], {'Scopes': {}})
        self.assertEqual(described['DisplayData'], providers[0]['DisplayData'])
        self.assertError('ResourceNotFoundException', self.admin.describe_application_provider,
                         ApplicationProviderArn='arn:aws:sso::aws:applicationProvider/none')
        self.assertError('ValidationException', self.admin.list_application_providers, NextToken='bm90LWEtdG9rZW4')


class ApplicationTests(ApplicationTestCase):
    def test_create_describe_flat_with_defaults(self):
        out = self.admin.create_application(InstanceArn=self.instance_arn, ApplicationProviderArn=CUSTOM, Name='flat')
        self.addCleanup(self.delete_quietly, out['ApplicationArn'])
        self.assertRegex(out['ApplicationArn'], APPLICATION_ARN_PATTERN)
        store_arn = f'arn:aws:identitystore::{self.owner}:identitystore/{self.store_id}'
        self.assertEqual(out['IdentityStoreArn'], store_arn)
        described = self.admin.describe_application(ApplicationArn=out['ApplicationArn'])
        described.pop('ResponseMetadata')
        self.assertIsInstance(described.pop('CreatedDate'), datetime.datetime)
        self.assertEqual(described, {
            'ApplicationArn': out['ApplicationArn'], 'ApplicationProviderArn': CUSTOM, 'Name': 'flat',
            'ApplicationAccount': self.owner, 'InstanceArn': self.instance_arn, 'IdentityStoreArn': store_arn,
            'Status': 'ENABLED', 'PortalOptions': {'Visibility': 'ENABLED'}, 'CreatedFrom': os.environ['AWS_REGION'],
        })
        self.assertError('ResourceNotFoundException', self.admin.describe_application, ApplicationArn=self.unknown_application)

    def test_create_refusals_and_client_token(self):
        self.assertError('ResourceNotFoundException', self.admin.create_application,
                         InstanceArn=UNKNOWN_INSTANCE, ApplicationProviderArn=CUSTOM, Name='x')
        self.assertError('ValidationException', self.admin.create_application,
                         InstanceArn=self.instance_arn, ApplicationProviderArn=CUSTOM_SAML, Name='x')
        token = str(uuid.uuid4())
        first = self.create_application(Name='tokened', ClientToken=token)
        self.assertEqual(self.create_application(Name='tokened', ClientToken=token), first)
        self.assertError('ConflictException', self.admin.create_application,
                         InstanceArn=self.instance_arn, ApplicationProviderArn=CUSTOM, Name='other', ClientToken=token)

    def test_update_and_delete(self):
        arn = self.create_application(Name='before')
        self.admin.update_application(ApplicationArn=arn, Name='after', Status='DISABLED',
                                      PortalOptions={'SignInOptions': {'Origin': 'APPLICATION', 'ApplicationUrl': 'https://app.example.com'}})
        described = self.admin.describe_application(ApplicationArn=arn)
        self.assertEqual((described['Name'], described['Status']), ('after', 'DISABLED'))
        self.assertEqual(described['PortalOptions'],
                         {'Visibility': 'ENABLED', 'SignInOptions': {'Origin': 'APPLICATION', 'ApplicationUrl': 'https://app.example.com'}})
        self.assertError('ValidationException', self.admin.update_application, ApplicationArn=arn,
                         PortalOptions={'SignInOptions': {'Origin': 'APPLICATION'}})
        self.admin.delete_application(ApplicationArn=arn)
        self.assertError('ResourceNotFoundException', self.admin.delete_application, ApplicationArn=arn)
        self.assertError('ResourceNotFoundException', self.admin.update_application, ApplicationArn=arn, Name='gone')

    def test_list_applications_pages_and_filters(self):
        made = {self.create_application() for _ in range(3)}
        listed = [a for page in self.admin.get_paginator('list_applications').paginate(
            InstanceArn=self.instance_arn, Filter={'ApplicationProvider': CUSTOM}, PaginationConfig={'PageSize': 1})
            for a in page['Applications']]
        self.assertLessEqual(made, {a['ApplicationArn'] for a in listed})
        self.assertEqual(self.admin.list_applications(InstanceArn=self.instance_arn,
                                                      Filter={'ApplicationAccount': '999999999999'})['Applications'], [])
        self.assertError('ResourceNotFoundException', self.admin.list_applications, InstanceArn=UNKNOWN_INSTANCE)

    def test_tags_on_applications(self):
        arn = self.create_application(Tags=[{'Key': 'a', 'Value': '1'}])
        self.admin.tag_resource(ResourceArn=arn, InstanceArn=self.instance_arn, Tags=[{'Key': 'b', 'Value': '2'}])
        self.admin.untag_resource(ResourceArn=arn, InstanceArn=self.instance_arn, TagKeys=['a'])
        self.assertEqual(self.admin.list_tags_for_resource(ResourceArn=arn, InstanceArn=self.instance_arn)['Tags'],
                         [{'Key': 'b', 'Value': '2'}])
        self.assertError('ResourceNotFoundException', self.admin.list_tags_for_resource, ResourceArn=self.unknown_application)


class AssignmentTests(ApplicationTestCase):
    def test_assignments(self):
        arn = self.create_application()
        user = self.create_user()
        self.admin.create_application_assignment(ApplicationArn=arn, PrincipalType='USER', PrincipalId=user)
        self.admin.create_application_assignment(ApplicationArn=arn, PrincipalType='USER', PrincipalId=user)
        described = self.admin.describe_application_assignment(ApplicationArn=arn, PrincipalType='USER', PrincipalId=user)
        self.assertEqual((described['ApplicationArn'], described['PrincipalType'], described['PrincipalId']), (arn, 'USER', user))
        listed = [a for page in self.admin.get_paginator('list_application_assignments').paginate(ApplicationArn=arn)
                  for a in page['ApplicationAssignments']]
        self.assertEqual(listed, [{'ApplicationArn': arn, 'PrincipalType': 'USER', 'PrincipalId': user}])
        mine = [a for page in self.admin.get_paginator('list_application_assignments_for_principal').paginate(
            InstanceArn=self.instance_arn, PrincipalType='USER', PrincipalId=user, Filter={'ApplicationArn': arn})
            for a in page['ApplicationAssignments']]
        self.assertEqual(mine, [{'ApplicationArn': arn, 'PrincipalType': 'USER', 'PrincipalId': user}])
        self.admin.delete_application_assignment(ApplicationArn=arn, PrincipalType='USER', PrincipalId=user)

        self.assertError('ResourceNotFoundException', self.admin.create_application_assignment,
                         ApplicationArn=arn, PrincipalType='USER', PrincipalId=NO_SUCH_PRINCIPAL)
        self.assertError('ResourceNotFoundException', self.admin.describe_application_assignment,
                         ApplicationArn=arn, PrincipalType='USER', PrincipalId=user)
        self.assertError('ResourceNotFoundException', self.admin.delete_application_assignment,
                         ApplicationArn=arn, PrincipalType='USER', PrincipalId=user)
        self.assertError('ResourceNotFoundException', self.admin.list_application_assignments, ApplicationArn=self.unknown_application)
        self.assertError('ResourceNotFoundException', self.admin.list_application_assignments_for_principal,
                         InstanceArn=UNKNOWN_INSTANCE, PrincipalType='USER', PrincipalId=user)

    def test_configurations(self):
        arn = self.create_application()
        self.assertTrue(self.admin.get_application_assignment_configuration(ApplicationArn=arn)['AssignmentRequired'])
        self.admin.put_application_assignment_configuration(ApplicationArn=arn, AssignmentRequired=False)
        self.assertFalse(self.admin.get_application_assignment_configuration(ApplicationArn=arn)['AssignmentRequired'])
        self.assertEqual(self.admin.get_application_session_configuration(ApplicationArn=arn)['UserBackgroundSessionApplicationStatus'], 'DISABLED')
        self.admin.put_application_session_configuration(ApplicationArn=arn, UserBackgroundSessionApplicationStatus='ENABLED')
        self.assertEqual(self.admin.get_application_session_configuration(ApplicationArn=arn)['UserBackgroundSessionApplicationStatus'], 'ENABLED')
        unknown = self.unknown_application
        self.assertError('ResourceNotFoundException', self.admin.get_application_assignment_configuration, ApplicationArn=unknown)
        self.assertError('ResourceNotFoundException', self.admin.put_application_assignment_configuration, ApplicationArn=unknown, AssignmentRequired=True)
        self.assertError('ResourceNotFoundException', self.admin.get_application_session_configuration, ApplicationArn=unknown)
        self.assertError('ResourceNotFoundException', self.admin.put_application_session_configuration, ApplicationArn=unknown,
                         UserBackgroundSessionApplicationStatus='DISABLED')


class TerraformLifeCycleTests(ApplicationTestCase):
    def test_application_with_an_assignment(self):
        # aws_ssoadmin_application: create, read (describe and tags), update, then the assignment, then destroy.
        arn = self.admin.create_application(
            InstanceArn=self.instance_arn, ApplicationProviderArn=CUSTOM, Name='tf', Description='by terraform',
            PortalOptions={'Visibility': 'ENABLED', 'SignInOptions': {'Origin': 'APPLICATION', 'ApplicationUrl': 'http://example.com'}},
            Tags=[{'Key': 'key1', 'Value': 'value1'}])['ApplicationArn']
        described = self.admin.describe_application(ApplicationArn=arn)
        self.assertEqual(self.admin.list_tags_for_resource(ResourceArn=arn, InstanceArn=described['InstanceArn'])['Tags'],
                         [{'Key': 'key1', 'Value': 'value1'}])
        self.admin.update_application(ApplicationArn=arn, Name='tf', Description='changed',
                                      PortalOptions={'SignInOptions': {'Origin': 'APPLICATION', 'ApplicationUrl': 'http://example2.com'}})
        self.assertEqual(self.admin.describe_application(ApplicationArn=arn)['Description'], 'changed')
        user = self.create_user()
        self.admin.create_application_assignment(ApplicationArn=arn, PrincipalType='USER', PrincipalId=user)
        self.admin.describe_application_assignment(ApplicationArn=arn, PrincipalType='USER', PrincipalId=user)
        self.admin.delete_application_assignment(ApplicationArn=arn, PrincipalType='USER', PrincipalId=user)
        self.admin.delete_application(ApplicationArn=arn)
        self.assertError('ResourceNotFoundException', self.admin.describe_application, ApplicationArn=arn)


class ZzApplicationCoverageTests(unittest.TestCase):
    def test_every_application_operation_succeeded_and_failed_with_a_modeled_error(self):
        if not OUTCOMES:
            self.fail('no sso-admin call was recorded: run the whole module, not this class alone')
        model = boto3.client('sso-admin', region_name='us-east-1').meta.service_model
        self.assertLessEqual(APPLICATION_OPERATIONS, set(model.operation_names))
        self.assertEqual(sorted(op for op in APPLICATION_OPERATIONS if 'OK' not in OUTCOMES[op]), [], 'operations never called successfully')
        self.assertEqual(sorted(op for op in APPLICATION_OPERATIONS if not (OUTCOMES[op] - {'OK'})), [], 'operations whose error path was never exercised')
        errors = set().union(*OUTCOMES.values()) - {'OK'}
        self.assertLessEqual(errors, {shape.name for shape in model.error_shapes}, 'every error answered is one botocore models')


if __name__ == '__main__':
    unittest.main()
