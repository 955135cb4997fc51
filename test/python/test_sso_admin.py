"""boto3 against Gatehouse's sso-admin: every operation Gatehouse implements, their results and their errors as
botocore surfaces them, and the life cycle Terraform drives (create, assign, change, reprovision, unassign, delete).

Run by test/boto3-sso-admin.test.ts with AWS_ENDPOINT_URL and the test admin key set, and:
- GATEHOUSE_ACCOUNT_ID: a member account of the organization, the target of account assignments;
- GATEHOUSE_SLOW_ENDPOINT_URL: a second server whose asynchronous requests stay IN_PROGRESS for a minute, for what
  can only be seen while requests are in flight (the limit of 15, conflicts with pending requests).
The main server completes asynchronous requests 300 ms after they are made, so a request is IN_PROGRESS when first
read and SUCCEEDED or FAILED soon after. The instance and its identity store are found with ListInstances, as
Terraform's aws_ssoadmin_instances data source finds them.

What the assertions rely on:
- AWS answers awsJson client errors with HTTP 400; botocore takes the code from the body's ``__type`` and raises the
  modeled exception class (``client.exceptions.ConflictException``, ...), a subclass of ClientError.
- botocore checks required members, minimum lengths and ranges before sending, but not maximum lengths or patterns:
  those reach the server's validation. The ``unchecked`` client (``parameter_validation=False``) sends what botocore
  would refuse.
- Every sso-admin call goes through clients made by ``make_admin``, which record each operation's outcomes;
  ``ZzOperationCoverageTests`` (last, as unittest orders classes by name) checks that every operation the service
  definition answers (but those another test_sso_admin_*.py script lists in its COVERED_OPERATIONS) succeeded at
  least once and failed with a modeled error at least once. It needs the whole module to run.
"""
import ast
import collections
import datetime
import glob
import json
import os
import time
import unittest
import uuid

import boto3
import botocore.config
from botocore.exceptions import ClientError

ACCOUNT = os.environ['GATEHOUSE_ACCOUNT_ID']
SLOW_ENDPOINT = os.environ['GATEHOUSE_SLOW_ENDPOINT_URL']
# Well-formed identifiers that name nothing on the server.
NOT_AN_ORGANIZATION_ACCOUNT = '999999999999'
UNKNOWN_INSTANCE = 'arn:aws:sso:::instance/ssoins-0000000000000000'
NO_SUCH_PRINCIPAL = '0000000000-00000000-0000-4000-8000-000000000000'
NO_SUCH_REQUEST = '00000000-0000-4000-8000-000000000000'

INSTANCE_ARN_PATTERN = r'^arn:aws:sso:::instance/ssoins-[0-9a-f]{16}$'
PERMISSION_SET_ARN_PATTERN = r'^arn:aws:sso:::permissionSet/ssoins-[0-9a-f]{16}/ps-[0-9a-f]{16}$'
IDENTITY_STORE_ID_PATTERN = r'^d-[0-9a-f]{10}$'
UUID_PATTERN = r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'

PROVISIONED = 'LATEST_PERMISSION_SET_PROVISIONED'
NOT_PROVISIONED = 'LATEST_PERMISSION_SET_NOT_PROVISIONED'

POLICY = json.dumps({
    'Version': '2012-10-17',
    'Statement': [{'Effect': 'Allow', 'Action': 's3:GetObject', 'Resource': 'arn:aws:s3:::bucket/*'}],
})

# The operations Gatehouse implements, by the name botocore's model gives them: the handlers its sso-admin service
# definition holds (test/helpers/python.ts passes them in).
OPERATIONS = set(json.loads(os.environ['GATEHOUSE_IMPLEMENTED_OPERATIONS'])['sso-admin'])


def covered_by_other_scripts():
    """The operations other test_sso_admin_*.py scripts here cover and check the coverage of themselves: each names
    them in a module-level COVERED_OPERATIONS list, read without importing the script."""
    covered = set()
    here = os.path.dirname(os.path.abspath(__file__))
    for path in sorted(glob.glob(os.path.join(here, 'test_sso_admin_*.py'))):
        with open(path, encoding='utf-8') as f:
            tree = ast.parse(f.read())
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == 'COVERED_OPERATIONS' for t in node.targets):
                covered |= set(ast.literal_eval(node.value))
    return covered


OPERATIONS -= covered_by_other_scripts()

# Operation name -> outcomes seen through boto3: 'OK' or an error code.
OUTCOMES = collections.defaultdict(set)


def record_outcome(http_response, parsed, model, **_):
    OUTCOMES[model.name].add(parsed.get('Error', {}).get('Code', '?') if http_response.status_code >= 300 else 'OK')


def client_config(**config):
    # One attempt: a ThrottlingException must reach the test, not botocore's retry loop.
    return botocore.config.Config(retries={'mode': 'standard', 'total_max_attempts': 1}, **config)


def make_admin(endpoint_url=None, **config):
    client = boto3.client('sso-admin', endpoint_url=endpoint_url, config=client_config(**config))
    client.meta.events.register('after-call.sso-admin', record_outcome)
    return client


def make_store(endpoint_url=None):
    return boto3.client('identitystore', endpoint_url=endpoint_url, config=client_config())


def unique(prefix):
    """A name no other test uses (permission set names allow at most 32 characters)."""
    return f'{prefix}-{uuid.uuid4().hex[:10]}'


def organization_instance(admin):
    """The organization instance: the first one created (account instances made by tests come later)."""
    instances = [i for page in admin.get_paginator('list_instances').paginate() for i in page['Instances']]
    return min(instances, key=lambda i: i['CreatedDate'])


def unknown_permission_set(instance_arn):
    """A well-formed permission set ARN under the instance that no permission set has."""
    return f"arn:aws:sso:::permissionSet/{instance_arn.rsplit('/', 1)[1]}/ps-0000000000000000"


def managed(name):
    return f'arn:aws:iam::aws:policy/{name}'


def attributes(*pairs):
    """An ABAC configuration from (key, source) pairs."""
    return {'AccessControlAttributes': [{'Key': key, 'Value': {'Source': [source]}} for key, source in pairs]}


def wait_for(read, timeout=15.0, interval=0.05):
    """Polls read() -- the status of an asynchronous request -- until it leaves IN_PROGRESS, as Terraform does.
    Returns the final status and the statuses seen on the way."""
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        status = read()
        seen.append(status['Status'])
        if status['Status'] != 'IN_PROGRESS':
            return status, seen
        if time.monotonic() > deadline:
            raise AssertionError(f'the request is still IN_PROGRESS after {timeout} s: {status}')
        time.sleep(interval)


class SsoAdminTestCase(unittest.TestCase):
    """Clients, the organization instance, factories and assertions shared by the tests."""

    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.admin = make_admin()
        cls.unchecked = make_admin(parameter_validation=False)
        cls.store = make_store()
        instance = organization_instance(cls.admin)
        cls.instance_arn = instance['InstanceArn']
        cls.store_id = instance['IdentityStoreId']

    # Factories -------------------------------------------------------------------------------------------------

    def create_permission_set(self, name=None, instance_arn=None, admin=None, **params):
        response = (admin or self.admin).create_permission_set(
            InstanceArn=instance_arn or self.instance_arn, Name=name or unique('ps'), **params)
        return response['PermissionSet']['PermissionSetArn']

    def create_user(self, store=None, store_id=None):
        name = unique('user')
        response = (store or self.store).create_user(
            IdentityStoreId=store_id or self.store_id, UserName=name, DisplayName=name, Name={'GivenName': 'Test', 'FamilyName': 'User'})
        return response['UserId']

    def create_group(self, store=None, store_id=None):
        response = (store or self.store).create_group(IdentityStoreId=store_id or self.store_id, DisplayName=unique('group'))
        return response['GroupId']

    def create_instance(self, name=None):
        """An account instance, deleted when the test ends (if the test did not delete it)."""
        arn = self.admin.create_instance(Name=name or unique('instance'))['InstanceArn']
        self.addCleanup(self.delete_instance_if_present, arn)
        return arn

    def delete_instance_if_present(self, arn):
        try:
            self.admin.delete_instance(InstanceArn=arn)
        except self.admin.exceptions.ResourceNotFoundException:
            pass

    def ps(self, permission_set_arn, instance_arn=None):
        """The InstanceArn and PermissionSetArn members that name a permission set."""
        return {'InstanceArn': instance_arn or self.instance_arn, 'PermissionSetArn': permission_set_arn}

    def assignment(self, permission_set_arn, principal_id, principal_type='USER', account=ACCOUNT, instance_arn=None):
        """The members of CreateAccountAssignment / DeleteAccountAssignment."""
        return {
            'InstanceArn': instance_arn or self.instance_arn, 'TargetId': account, 'TargetType': 'AWS_ACCOUNT',
            'PermissionSetArn': permission_set_arn, 'PrincipalType': principal_type, 'PrincipalId': principal_id,
        }

    # Asynchronous requests -------------------------------------------------------------------------------------

    def creation_status(self, request_id, instance_arn=None):
        return self.admin.describe_account_assignment_creation_status(
            InstanceArn=instance_arn or self.instance_arn, AccountAssignmentCreationRequestId=request_id)['AccountAssignmentCreationStatus']

    def deletion_status(self, request_id, instance_arn=None):
        return self.admin.describe_account_assignment_deletion_status(
            InstanceArn=instance_arn or self.instance_arn, AccountAssignmentDeletionRequestId=request_id)['AccountAssignmentDeletionStatus']

    def provisioning_status(self, request_id, instance_arn=None):
        return self.admin.describe_permission_set_provisioning_status(
            InstanceArn=instance_arn or self.instance_arn, ProvisionPermissionSetRequestId=request_id)['PermissionSetProvisioningStatus']

    def assign(self, permission_set_arn, principal_id, **kwargs):
        """Creates an account assignment and waits for the request to end; returns its final status."""
        params = self.assignment(permission_set_arn, principal_id, **kwargs)
        request = self.admin.create_account_assignment(**params)['AccountAssignmentCreationStatus']
        status, _ = wait_for(lambda: self.creation_status(request['RequestId'], params['InstanceArn']))
        return status

    def unassign(self, permission_set_arn, principal_id, **kwargs):
        params = self.assignment(permission_set_arn, principal_id, **kwargs)
        request = self.admin.delete_account_assignment(**params)['AccountAssignmentDeletionStatus']
        status, _ = wait_for(lambda: self.deletion_status(request['RequestId'], params['InstanceArn']))
        return status

    def provision(self, permission_set_arn, account=None):
        params = {'TargetType': 'AWS_ACCOUNT', 'TargetId': account} if account else {'TargetType': 'ALL_PROVISIONED_ACCOUNTS'}
        request = self.admin.provision_permission_set(**self.ps(permission_set_arn), **params)['PermissionSetProvisioningStatus']
        status, _ = wait_for(lambda: self.provisioning_status(request['RequestId']))
        return status

    def accounts_of(self, permission_set_arn, provisioning_status=None):
        params = {'ProvisioningStatus': provisioning_status} if provisioning_status else {}
        return self.admin.list_accounts_for_provisioned_permission_set(**self.ps(permission_set_arn), **params)['AccountIds']

    def statuses(self, operation, instance_arn=None, **params):
        """Every page of a List...Status operation (request ids are random, so a request may be on any page)."""
        key = {
            'list_account_assignment_creation_status': 'AccountAssignmentsCreationStatus',
            'list_account_assignment_deletion_status': 'AccountAssignmentsDeletionStatus',
            'list_permission_set_provisioning_status': 'PermissionSetsProvisioningStatus',
        }[operation]
        pages = self.admin.get_paginator(operation).paginate(InstanceArn=instance_arn or self.instance_arn, **params)
        return [status for page in pages for status in page[key]]

    def assignments_of(self, principal_id, principal_type='USER', **params):
        response = self.admin.list_account_assignments_for_principal(
            InstanceArn=self.instance_arn, PrincipalId=principal_id, PrincipalType=principal_type, **params)
        return response['AccountAssignments']

    def permission_sets_in(self, account, provisioning_status=None):
        params = {'ProvisioningStatus': provisioning_status} if provisioning_status else {}
        response = self.admin.list_permission_sets_provisioned_to_account(InstanceArn=self.instance_arn, AccountId=account, **params)
        return response.get('PermissionSets', [])

    # Errors ----------------------------------------------------------------------------------------------------

    def assertError(self, code, operation, /, message=None, client=None, declared=True, **params):
        """Calls the client method named `operation`, expects botocore to raise the modeled exception `code` and returns
        e.response. InstanceArn defaults to the organization instance for operations that take one; pass
        InstanceArn=None to leave it out. With declared=True the operation's model must list the error."""
        client = client or self.admin
        operation_model = client.meta.service_model.operation_model(client.meta.method_to_api_mapping[operation])
        if 'InstanceArn' in operation_model.input_shape.members:
            params.setdefault('InstanceArn', self.instance_arn)
        params = {k: v for k, v in params.items() if v is not None}
        with self.assertRaises(getattr(client.exceptions, code)) as caught:
            getattr(client, operation)(**params)
        self.assertIsInstance(caught.exception, ClientError)
        response = caught.exception.response
        self.assertEqual(response['Error']['Code'], code)
        self.assertEqual(response['ResponseMetadata']['HTTPStatusCode'], 400, 'AWS answers awsJson client errors with 400')
        self.assertRegex(response['ResponseMetadata']['RequestId'], UUID_PATTERN)
        self.assertTrue(response['Error']['Message'])
        # sso-admin's error shapes carry Message in the body; botocore lifts it to the top level.
        self.assertEqual(response['Message'], response['Error']['Message'])
        if declared:
            self.assertIn(code, [s.name for s in operation_model.error_shapes], f'{operation_model.name} does not declare {code}')
        if message is not None:
            self.assertEqual(response['Error']['Message'], message)
        return response

    def assertNotFound(self, operation, /, **params):
        return self.assertError('ResourceNotFoundException', operation, **params)

    def assertConflict(self, operation, /, **params):
        return self.assertError('ConflictException', operation, **params)

    def assertInvalid(self, operation, /, message=None, **params):
        return self.assertError('ValidationException', operation, message=message, **params)


def validation_message(path, value, constraint):
    return f'1 validation error detected: Value {value!r} at {path!r} failed to satisfy constraint: {constraint}'


class InstanceTests(SsoAdminTestCase):
    def test_list_and_describe_the_organization_instance(self):
        response = self.admin.list_instances()
        self.assertNotIn('NextToken', response)
        org = next(i for i in response['Instances'] if i['InstanceArn'] == self.instance_arn)
        self.assertRegex(org['InstanceArn'], INSTANCE_ARN_PATTERN)
        self.assertRegex(org['IdentityStoreId'], IDENTITY_STORE_ID_PATTERN)
        self.assertRegex(org['OwnerAccountId'], r'^\d{12}$')
        self.assertEqual(org['Status'], 'ACTIVE')
        self.assertIsInstance(org['CreatedDate'], datetime.datetime)

        described = self.admin.describe_instance(InstanceArn=self.instance_arn)
        for key in ('InstanceArn', 'IdentityStoreId', 'OwnerAccountId', 'Status', 'CreatedDate'):
            self.assertEqual(described[key], org[key], key)
        self.assertEqual(described['EncryptionConfigurationDetails'], {'KeyType': 'AWS_OWNED_KMS_KEY', 'EncryptionStatus': 'ENABLED'})

    def test_create_update_and_delete_an_account_instance(self):
        response = self.admin.create_instance(Name='team-sandbox', Tags=[{'Key': 'owner', 'Value': 'platform'}])
        arn = response['InstanceArn']
        self.addCleanup(self.delete_instance_if_present, arn)
        self.assertRegex(arn, INSTANCE_ARN_PATTERN)
        described = self.admin.describe_instance(InstanceArn=arn)
        self.assertEqual((described['Name'], described['Status']), ('team-sandbox', 'ACTIVE'))
        self.assertRegex(described['IdentityStoreId'], IDENTITY_STORE_ID_PATTERN)
        self.assertNotEqual(described['IdentityStoreId'], self.store_id, 'an account instance has its own identity store')
        self.assertEqual(self.store.list_users(IdentityStoreId=described['IdentityStoreId'])['Users'], [])
        # Instances are tagged like any resource; ListTagsForResource needs no InstanceArn for them.
        self.assertEqual(self.admin.list_tags_for_resource(ResourceArn=arn)['Tags'], [{'Key': 'owner', 'Value': 'platform'}])

        self.admin.update_instance(InstanceArn=arn, Name='renamed')
        self.assertEqual(self.admin.describe_instance(InstanceArn=arn)['Name'], 'renamed')
        listed = [i for page in self.admin.get_paginator('list_instances').paginate() for i in page['Instances']]
        self.assertEqual([i.get('Name') for i in listed if i['InstanceArn'] == arn], ['renamed'])
        # The default AWS owned key is accepted and changes nothing.
        self.admin.update_instance(InstanceArn=arn, EncryptionConfiguration={'KeyType': 'AWS_OWNED_KMS_KEY'})

        self.admin.delete_instance(InstanceArn=arn)
        # The model declares no ResourceNotFoundException for these two; Gatehouse answers it (docs/behaviour.md).
        self.assertNotFound('describe_instance', declared=False, InstanceArn=arn)
        self.assertNotFound('delete_instance', declared=False, InstanceArn=arn)
        self.assertNotIn(arn, [i['InstanceArn'] for i in self.admin.list_instances()['Instances']])

    def test_client_token_makes_create_instance_idempotent(self):
        token = str(uuid.uuid4())
        first = self.admin.create_instance(ClientToken=token, Name='retried')['InstanceArn']
        self.addCleanup(self.delete_instance_if_present, first)
        self.assertEqual(self.admin.create_instance(ClientToken=token, Name='retried')['InstanceArn'], first)
        self.assertConflict('create_instance', ClientToken=token, Name='other-name')

    def test_at_most_ten_instances(self):
        existing = len(self.admin.list_instances()['Instances'])
        for i in range(existing, 10):
            self.create_instance(f'quota-{i}')
        self.assertError('ServiceQuotaExceededException', 'create_instance', Name='one-too-many')
        self.assertEqual(len(self.admin.list_instances()['Instances']), 10)

    def test_list_instances_one_per_page(self):
        created = {self.create_instance(), self.create_instance()}
        pages = list(self.admin.get_paginator('list_instances').paginate(PaginationConfig={'PageSize': 1}))
        self.assertTrue(all(len(page['Instances']) == 1 for page in pages))
        self.assertNotIn('NextToken', pages[-1])
        arns = [page['Instances'][0]['InstanceArn'] for page in pages]
        self.assertEqual(len(arns), len(set(arns)))
        self.assertLessEqual(created | {self.instance_arn}, set(arns))

    def test_list_instances_refuses_bad_paging_parameters(self):
        self.create_instance()
        token = self.admin.list_instances(MaxResults=1)['NextToken']
        self.assertInvalid('list_instances', NextToken=token[:-2] + ('AA' if token[-2:] != 'AA' else 'BB'))
        self.assertInvalid('list_instances', MaxResults=101,
                           message=validation_message('maxResults', '101', 'Member must have value less than or equal to 100'))
        self.assertInvalid('list_instances', client=self.unchecked, MaxResults=0)

    def test_the_organization_instance_cannot_be_deleted(self):
        self.assertConflict('delete_instance', InstanceArn=self.instance_arn)
        self.assertEqual(self.admin.describe_instance(InstanceArn=self.instance_arn)['Status'], 'ACTIVE')

    def test_unknown_and_malformed_instances(self):
        self.assertNotFound('describe_instance', declared=False, InstanceArn=UNKNOWN_INSTANCE)
        self.assertNotFound('update_instance', InstanceArn=UNKNOWN_INSTANCE, Name='x')
        self.assertInvalid('describe_instance', InstanceArn='arn:aws:sso:::instance/not-an-instance')

    def test_update_instance_refuses_invalid_input(self):
        arn = self.create_instance('before')
        key = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab'
        self.assertInvalid('update_instance', InstanceArn=arn, EncryptionConfiguration={'KeyType': 'CUSTOMER_MANAGED_KEY', 'KmsKeyArn': key})
        self.assertInvalid('update_instance', InstanceArn=arn, Name='no spaces allowed')
        self.assertInvalid('create_instance', Name='has spaces')
        self.assertEqual(self.admin.describe_instance(InstanceArn=arn)['Name'], 'before')

    def test_an_account_instance_refuses_permission_sets(self):
        arn = self.create_instance()
        self.assertInvalid('create_permission_set', InstanceArn=arn, Name=unique('ps'))
        self.assertEqual(self.admin.list_permission_sets(InstanceArn=arn)['PermissionSets'], [])

class AccessControlAttributeTests(SsoAdminTestCase):
    """ABAC configuration, on an account instance of its own."""

    def setUp(self):
        self.arn = self.create_instance('abac')

    def describe(self):
        return self.admin.describe_instance_access_control_attribute_configuration(InstanceArn=self.arn)

    def configure(self, operation, *pairs):
        """Calls create_... or update_instance_access_control_attribute_configuration with (key, source) pairs."""
        method = getattr(self.admin, f'{operation}_instance_access_control_attribute_configuration')
        return method(InstanceArn=self.arn, InstanceAccessControlAttributeConfiguration=attributes(*pairs))

    def test_create_describe_update_delete(self):
        self.configure('create', ('Department', '${path:enterprise.department}'), ('Email', '${path:email}'))
        described = self.describe()
        self.assertEqual(described['Status'], 'ENABLED')
        self.assertEqual(described['InstanceAccessControlAttributeConfiguration'],
                         attributes(('Department', '${path:enterprise.department}'), ('Email', '${path:email}')))

        # Update replaces the whole list.
        self.configure('update', ('CostCenter', '${path:enterprise.costCenter}'))
        self.assertEqual(self.describe()['InstanceAccessControlAttributeConfiguration'], attributes(('CostCenter', '${path:enterprise.costCenter}')))

        self.admin.delete_instance_access_control_attribute_configuration(InstanceArn=self.arn)
        self.assertNotFound('describe_instance_access_control_attribute_configuration', InstanceArn=self.arn)

    def test_nothing_to_describe_update_or_delete_before_create(self):
        config = attributes(('Email', '${path:email}'))
        self.assertNotFound('describe_instance_access_control_attribute_configuration', InstanceArn=self.arn)
        self.assertNotFound('update_instance_access_control_attribute_configuration', InstanceArn=self.arn, InstanceAccessControlAttributeConfiguration=config)
        self.assertNotFound('delete_instance_access_control_attribute_configuration', InstanceArn=self.arn)

    def test_a_second_create_is_a_conflict(self):
        config = attributes(('Email', '${path:email}'))
        self.configure('create', ('Email', '${path:email}'))
        self.assertConflict('create_instance_access_control_attribute_configuration', InstanceArn=self.arn, InstanceAccessControlAttributeConfiguration=config)

    def test_keys_are_unique_ignoring_case(self):
        duplicate = attributes(('Team', '${path:enterprise.division}'), ('team', '${path:title}'))
        self.assertInvalid('create_instance_access_control_attribute_configuration', InstanceArn=self.arn, InstanceAccessControlAttributeConfiguration=duplicate)
        self.assertNotFound('describe_instance_access_control_attribute_configuration', InstanceArn=self.arn)
        self.configure('create', ('Team', '${path:title}'))
        self.assertInvalid('update_instance_access_control_attribute_configuration', InstanceArn=self.arn, InstanceAccessControlAttributeConfiguration=duplicate)
        self.assertEqual(self.describe()['InstanceAccessControlAttributeConfiguration'], attributes(('Team', '${path:title}')))

    def test_unknown_instance(self):
        config = attributes(('Email', '${path:email}'))
        for operation, params in (
            ('create_instance_access_control_attribute_configuration', {'InstanceAccessControlAttributeConfiguration': config}),
            ('describe_instance_access_control_attribute_configuration', {}),
            ('update_instance_access_control_attribute_configuration', {'InstanceAccessControlAttributeConfiguration': config}),
            ('delete_instance_access_control_attribute_configuration', {}),
        ):
            with self.subTest(operation):
                self.assertNotFound(operation, InstanceArn=UNKNOWN_INSTANCE, **params)


class PermissionSetTests(SsoAdminTestCase):
    def test_create_describe_update_delete(self):
        name = unique('Admin')
        created = self.admin.create_permission_set(
            InstanceArn=self.instance_arn, Name=name, Description='made by boto3', RelayState='https://console.aws.amazon.com/')['PermissionSet']
        arn = created['PermissionSetArn']
        self.assertRegex(arn, PERMISSION_SET_ARN_PATTERN)
        self.assertEqual(arn.split('/')[1], self.instance_arn.rsplit('/', 1)[1], 'the ARN names the instance')
        self.assertEqual(created['Name'], name)
        self.assertEqual(created['SessionDuration'], 'PT1H', 'the default session lasts an hour')
        self.assertIsInstance(created['CreatedDate'], datetime.datetime)
        self.assertEqual(self.admin.describe_permission_set(**self.ps(arn))['PermissionSet'], created)

        self.admin.update_permission_set(**self.ps(arn), Description='changed', SessionDuration='PT12H', RelayState='https://example.com/')
        described = self.admin.describe_permission_set(**self.ps(arn))['PermissionSet']
        self.assertEqual((described['Description'], described['SessionDuration'], described['RelayState']), ('changed', 'PT12H', 'https://example.com/'))
        self.assertEqual((described['Name'], described['CreatedDate']), (name, created['CreatedDate']))

        self.admin.delete_permission_set(**self.ps(arn))
        self.assertNotFound('describe_permission_set', PermissionSetArn=arn)
        self.assertNotFound('delete_permission_set', PermissionSetArn=arn)
        self.assertNotIn(arn, self.admin.list_permission_sets(InstanceArn=self.instance_arn)['PermissionSets'])

    def test_names_are_unique_in_an_instance(self):
        name = unique('Twice')
        self.create_permission_set(name)
        self.assertConflict('create_permission_set', Name=name, message=f'PermissionSet with name {name} already exists.')

    def test_session_duration_from_one_to_twelve_hours(self):
        for duration in ('PT59M', 'PT12H1M', 'P1D', 'nonsense'):
            with self.subTest(duration):
                self.assertInvalid('create_permission_set', Name=unique('d'), SessionDuration=duration)
        arn = self.create_permission_set(SessionDuration='PT90M')
        self.assertEqual(self.admin.describe_permission_set(**self.ps(arn))['PermissionSet']['SessionDuration'], 'PT90M')
        self.assertInvalid('update_permission_set', **self.ps(arn), SessionDuration='PT13H')
        self.assertEqual(self.admin.describe_permission_set(**self.ps(arn))['PermissionSet']['SessionDuration'], 'PT90M')

    def test_model_constraints_botocore_leaves_to_the_server(self):
        self.assertInvalid('create_permission_set', Name='x' * 33,
                           message=validation_message('name', 'x' * 33, 'Member must have length less than or equal to 32'))
        self.assertInvalid('create_permission_set', Name='two words')
        self.assertInvalid('create_permission_set', Name=unique('long'), Description='d' * 701)
        self.assertInvalid('create_permission_set', Name=unique('tags'), Tags=[{'Key': f'k{i}', 'Value': 'v'} for i in range(76)])

    def test_unknown_permission_set_or_instance(self):
        unknown = unknown_permission_set(self.instance_arn)
        self.assertNotFound('describe_permission_set', PermissionSetArn=unknown)
        self.assertNotFound('update_permission_set', PermissionSetArn=unknown, Description='x')
        self.assertNotFound('delete_permission_set', PermissionSetArn=unknown)
        self.assertNotFound('create_permission_set', InstanceArn=UNKNOWN_INSTANCE, Name=unique('ps'))
        self.assertNotFound('list_permission_sets', InstanceArn=UNKNOWN_INSTANCE)
        # A real permission set named with another instance is not found either.
        arn = self.create_permission_set()
        other = self.create_instance()
        self.assertNotFound('describe_permission_set', InstanceArn=other, PermissionSetArn=arn)
        self.assertNotFound('delete_permission_set', InstanceArn=other, PermissionSetArn=arn)

    def test_paginator_pages_through_125_permission_sets(self):
        # In the organization instance (account instances take no permission sets), beside other tests' own.
        created = {self.create_permission_set(unique(f'page-{i:03d}')) for i in range(125)}
        pages = list(self.admin.get_paginator('list_permission_sets').paginate(InstanceArn=self.instance_arn, PaginationConfig={'PageSize': 50}))
        self.assertGreaterEqual(len(pages), 3)
        self.assertEqual({len(page['PermissionSets']) for page in pages[:-1]}, {50})
        self.assertIn('NextToken', pages[0])
        self.assertNotIn('NextToken', pages[-1])
        listed = [arn for page in pages for arn in page['PermissionSets']]
        self.assertEqual(len(listed), len(set(listed)), 'no permission set is listed twice')
        self.assertLessEqual(created, set(listed))
        # The default page size is 100.
        first = self.admin.list_permission_sets(InstanceArn=self.instance_arn)
        self.assertEqual(len(first['PermissionSets']), 100)
        # A token belongs to the listing it came from.
        self.assertInvalid('list_permission_sets', InstanceArn=self.create_instance(), NextToken=first['NextToken'])

class PolicyTests(SsoAdminTestCase):
    """AWS managed policies, customer managed policy references, the permissions boundary and the inline policy."""

    def setUp(self):
        self.arn = self.create_permission_set()
        self.ref = self.ps(self.arn)

    def managed_policies(self):
        return self.admin.list_managed_policies_in_permission_set(**self.ref)['AttachedManagedPolicies']

    def customer_references(self):
        return self.admin.list_customer_managed_policy_references_in_permission_set(**self.ref)['CustomerManagedPolicyReferences']

    def test_attach_list_detach_managed_policies(self):
        self.assertEqual(self.managed_policies(), [])
        self.admin.attach_managed_policy_to_permission_set(**self.ref, ManagedPolicyArn=managed('ReadOnlyAccess'))
        self.admin.attach_managed_policy_to_permission_set(**self.ref, ManagedPolicyArn=managed('job-function/ViewOnlyAccess'))
        self.assertCountEqual(self.managed_policies(), [
            {'Name': 'ReadOnlyAccess', 'Arn': managed('ReadOnlyAccess')},
            {'Name': 'ViewOnlyAccess', 'Arn': managed('job-function/ViewOnlyAccess')},
        ])
        self.admin.detach_managed_policy_from_permission_set(**self.ref, ManagedPolicyArn=managed('ReadOnlyAccess'))
        self.assertEqual(self.managed_policies(), [{'Name': 'ViewOnlyAccess', 'Arn': managed('job-function/ViewOnlyAccess')}])

    def test_managed_policy_errors(self):
        self.admin.attach_managed_policy_to_permission_set(**self.ref, ManagedPolicyArn=managed('PowerUserAccess'))
        self.assertConflict('attach_managed_policy_to_permission_set', **self.ref, ManagedPolicyArn=managed('PowerUserAccess'))
        self.assertNotFound('detach_managed_policy_from_permission_set', **self.ref, ManagedPolicyArn=managed('SecurityAudit'))
        # A customer's policy is no AWS managed policy.
        self.assertInvalid('attach_managed_policy_to_permission_set', **self.ref, ManagedPolicyArn='arn:aws:iam::123456789012:policy/Mine')

    def test_managed_policies_page(self):
        arns = [managed(f'Paged{i:02d}') for i in range(7)]
        for arn in arns:
            self.admin.attach_managed_policy_to_permission_set(**self.ref, ManagedPolicyArn=arn)
        pages = list(self.admin.get_paginator('list_managed_policies_in_permission_set').paginate(**self.ref, PaginationConfig={'PageSize': 3}))
        self.assertEqual([len(p['AttachedManagedPolicies']) for p in pages], [3, 3, 1])
        self.assertCountEqual([p['Arn'] for page in pages for p in page['AttachedManagedPolicies']], arns)
        self.assertInvalid('list_managed_policies_in_permission_set', **self.ps(self.create_permission_set()), NextToken=pages[0]['NextToken'])

    def test_attach_list_detach_customer_managed_references(self):
        self.assertEqual(self.customer_references(), [])
        self.admin.attach_customer_managed_policy_reference_to_permission_set(**self.ref, CustomerManagedPolicyReference={'Name': 'S3Reader'})
        self.admin.attach_customer_managed_policy_reference_to_permission_set(**self.ref, CustomerManagedPolicyReference={'Name': 'S3Reader', 'Path': '/team/'})
        # Without a Path, a reference names the policy at "/".
        self.assertEqual(self.customer_references(), [{'Name': 'S3Reader', 'Path': '/'}, {'Name': 'S3Reader', 'Path': '/team/'}])
        self.admin.detach_customer_managed_policy_reference_from_permission_set(**self.ref, CustomerManagedPolicyReference={'Name': 'S3Reader'})
        self.assertEqual(self.customer_references(), [{'Name': 'S3Reader', 'Path': '/team/'}])
        pages = list(self.admin.get_paginator('list_customer_managed_policy_references_in_permission_set').paginate(**self.ref))
        self.assertEqual([r for page in pages for r in page['CustomerManagedPolicyReferences']], [{'Name': 'S3Reader', 'Path': '/team/'}])

    def test_customer_managed_reference_errors(self):
        self.admin.attach_customer_managed_policy_reference_to_permission_set(**self.ref, CustomerManagedPolicyReference={'Name': 'Deploy'})
        attach, detach = 'attach_customer_managed_policy_reference_to_permission_set', 'detach_customer_managed_policy_reference_from_permission_set'
        self.assertConflict(attach, **self.ref, CustomerManagedPolicyReference={'Name': 'Deploy', 'Path': '/'})
        self.assertNotFound(detach, **self.ref, CustomerManagedPolicyReference={'Name': 'Deploy', 'Path': '/other/'})
        self.assertInvalid(attach, **self.ref, CustomerManagedPolicyReference={'Name': 'X', 'Path': 'no-slashes'})
        self.assertInvalid('list_customer_managed_policy_references_in_permission_set', **self.ref, MaxResults=101)

    def test_twenty_policies_at_most(self):
        for i in range(10):
            self.admin.attach_managed_policy_to_permission_set(**self.ref, ManagedPolicyArn=managed(f'Quota{i}'))
            self.admin.attach_customer_managed_policy_reference_to_permission_set(**self.ref, CustomerManagedPolicyReference={'Name': f'Quota{i}'})
        self.assertError('ServiceQuotaExceededException', 'attach_managed_policy_to_permission_set', **self.ref, ManagedPolicyArn=managed('Quota20'))
        self.assertError('ServiceQuotaExceededException', 'attach_customer_managed_policy_reference_to_permission_set', **self.ref,
                         CustomerManagedPolicyReference={'Name': 'Quota20'})
        self.assertEqual((len(self.managed_policies()), len(self.customer_references())), (10, 10))

    def test_permissions_boundary(self):
        self.assertNotFound('get_permissions_boundary_for_permission_set', **self.ref)
        self.assertNotFound('delete_permissions_boundary_from_permission_set', **self.ref)
        self.admin.put_permissions_boundary_to_permission_set(**self.ref, PermissionsBoundary={'ManagedPolicyArn': managed('PowerUserAccess')})
        self.assertEqual(self.admin.get_permissions_boundary_for_permission_set(**self.ref)['PermissionsBoundary'], {'ManagedPolicyArn': managed('PowerUserAccess')})
        # Put replaces the one boundary; a customer reference's Path defaults to "/".
        self.admin.put_permissions_boundary_to_permission_set(**self.ref, PermissionsBoundary={'CustomerManagedPolicyReference': {'Name': 'Boundary'}})
        self.assertEqual(self.admin.get_permissions_boundary_for_permission_set(**self.ref)['PermissionsBoundary'],
                         {'CustomerManagedPolicyReference': {'Name': 'Boundary', 'Path': '/'}})
        self.admin.delete_permissions_boundary_from_permission_set(**self.ref)
        self.assertNotFound('get_permissions_boundary_for_permission_set', **self.ref)

    def test_a_boundary_is_exactly_one_policy(self):
        both = {'ManagedPolicyArn': managed('ReadOnlyAccess'), 'CustomerManagedPolicyReference': {'Name': 'B'}}
        self.assertInvalid('put_permissions_boundary_to_permission_set', **self.ref, PermissionsBoundary=both)
        self.assertInvalid('put_permissions_boundary_to_permission_set', **self.ref, PermissionsBoundary={})
        self.assertNotFound('get_permissions_boundary_for_permission_set', **self.ref)

    def test_inline_policy(self):
        # Without an inline policy AWS answers an empty document.
        self.assertEqual(self.admin.get_inline_policy_for_permission_set(**self.ref)['InlinePolicy'], '')
        self.admin.put_inline_policy_to_permission_set(**self.ref, InlinePolicy=POLICY)
        self.assertEqual(self.admin.get_inline_policy_for_permission_set(**self.ref)['InlinePolicy'], POLICY)
        replacement = '{\n  "Version": "2008-10-17",\n  "Statement": {"Effect": "Deny", "Action": "*", "Resource": "*"}\n}'
        self.admin.put_inline_policy_to_permission_set(**self.ref, InlinePolicy=replacement)
        self.assertEqual(self.admin.get_inline_policy_for_permission_set(**self.ref)['InlinePolicy'], replacement, 'kept as written')
        self.admin.delete_inline_policy_from_permission_set(**self.ref)
        self.assertEqual(self.admin.get_inline_policy_for_permission_set(**self.ref)['InlinePolicy'], '')
        self.admin.delete_inline_policy_from_permission_set(**self.ref)  # nothing to delete: still succeeds

    def test_an_inline_policy_must_be_a_policy_document(self):
        self.admin.put_inline_policy_to_permission_set(**self.ref, InlinePolicy=POLICY)
        unknown_version = '{"Version": "2020-01-01", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}'
        for document in ('not json', '[]', '{"Version": "2012-10-17"}', unknown_version):
            with self.subTest(document):
                self.assertInvalid('put_inline_policy_to_permission_set', **self.ref, InlinePolicy=document)
        too_big = json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': 's3:GetObject', 'Resource': 'r' * 10_240}]})
        self.assertInvalid('put_inline_policy_to_permission_set', **self.ref, InlinePolicy=too_big)
        self.assertEqual(self.admin.get_inline_policy_for_permission_set(**self.ref)['InlinePolicy'], POLICY)

    def test_every_policy_operation_checks_the_permission_set(self):
        boundary = {'ManagedPolicyArn': managed('ReadOnlyAccess')}
        calls = {
            'attach_managed_policy_to_permission_set': {'ManagedPolicyArn': managed('ReadOnlyAccess')},
            'detach_managed_policy_from_permission_set': {'ManagedPolicyArn': managed('ReadOnlyAccess')},
            'list_managed_policies_in_permission_set': {},
            'attach_customer_managed_policy_reference_to_permission_set': {'CustomerManagedPolicyReference': {'Name': 'X'}},
            'detach_customer_managed_policy_reference_from_permission_set': {'CustomerManagedPolicyReference': {'Name': 'X'}},
            'list_customer_managed_policy_references_in_permission_set': {},
            'put_permissions_boundary_to_permission_set': {'PermissionsBoundary': boundary},
            'get_permissions_boundary_for_permission_set': {},
            'delete_permissions_boundary_from_permission_set': {},
            'put_inline_policy_to_permission_set': {'InlinePolicy': POLICY},
            'get_inline_policy_for_permission_set': {},
            'delete_inline_policy_from_permission_set': {},
        }
        for operation, params in calls.items():
            with self.subTest(operation):
                self.assertNotFound(operation, PermissionSetArn=unknown_permission_set(self.instance_arn), **params)
                self.assertNotFound(operation, InstanceArn=UNKNOWN_INSTANCE, PermissionSetArn=self.arn, **params)


class TagTests(SsoAdminTestCase):
    def test_tag_list_untag_a_permission_set(self):
        arn = self.create_permission_set(Tags=[{'Key': 'owner', 'Value': 'platform'}])
        self.admin.tag_resource(InstanceArn=self.instance_arn, ResourceArn=arn, Tags=[{'Key': 'env', 'Value': 'test'}, {'Key': 'owner', 'Value': 'security'}])
        response = self.admin.list_tags_for_resource(InstanceArn=self.instance_arn, ResourceArn=arn)
        self.assertEqual(response['Tags'], [{'Key': 'env', 'Value': 'test'}, {'Key': 'owner', 'Value': 'security'}])
        self.assertNotIn('NextToken', response)
        # Removing a key the resource does not have is no error.
        self.admin.untag_resource(InstanceArn=self.instance_arn, ResourceArn=arn, TagKeys=['owner', 'absent'])
        self.assertEqual(self.admin.list_tags_for_resource(InstanceArn=self.instance_arn, ResourceArn=arn)['Tags'], [{'Key': 'env', 'Value': 'test'}])
        pages = list(self.admin.get_paginator('list_tags_for_resource').paginate(InstanceArn=self.instance_arn, ResourceArn=arn))
        self.assertEqual([t for page in pages for t in page['Tags']], [{'Key': 'env', 'Value': 'test'}])

    def test_tag_an_instance(self):
        arn = self.create_instance()
        self.admin.tag_resource(ResourceArn=arn, Tags=[{'Key': 'team', 'Value': 'identity'}])
        self.assertEqual(self.admin.list_tags_for_resource(ResourceArn=arn)['Tags'], [{'Key': 'team', 'Value': 'identity'}])
        self.admin.untag_resource(ResourceArn=arn, TagKeys=['team'])
        self.assertEqual(self.admin.list_tags_for_resource(ResourceArn=arn)['Tags'], [])

    def test_at_most_75_tags(self):
        arn = self.create_permission_set(Tags=[{'Key': f'k{i}', 'Value': 'v'} for i in range(70)])
        # Past the resource's limit: the quota error TagResource's model lists; more than 75 in one request is the
        # model's own ValidationException.
        self.assertError('ServiceQuotaExceededException', 'tag_resource', ResourceArn=arn, Tags=[{'Key': f'new{i}', 'Value': 'v'} for i in range(6)])
        self.assertInvalid('tag_resource', ResourceArn=arn, Tags=[{'Key': f'new{i}', 'Value': 'v'} for i in range(76)])
        # Replacing a tag's value adds none.
        self.admin.tag_resource(InstanceArn=self.instance_arn, ResourceArn=arn, Tags=[{'Key': f'k{i}', 'Value': 'w'} for i in range(70)])
        self.admin.tag_resource(InstanceArn=self.instance_arn, ResourceArn=arn, Tags=[{'Key': f'new{i}', 'Value': 'v'} for i in range(5)])
        self.assertEqual(len(self.admin.list_tags_for_resource(InstanceArn=self.instance_arn, ResourceArn=arn)['Tags']), 75)

    def test_invalid_tags(self):
        arn = self.create_permission_set()
        self.assertInvalid('tag_resource', ResourceArn=arn, Tags=[{'Key': 'a', 'Value': '1'}, {'Key': 'a', 'Value': '2'}])
        self.assertInvalid('tag_resource', ResourceArn=arn, Tags=[{'Key': 'k' * 129, 'Value': 'v'}])
        self.assertInvalid('tag_resource', ResourceArn=arn, Tags=[{'Key': 'k', 'Value': 'v' * 257}])
        self.assertEqual(self.admin.list_tags_for_resource(InstanceArn=self.instance_arn, ResourceArn=arn)['Tags'], [])

    def test_reserved_aws_prefix(self):
        arn = self.create_permission_set(Tags=[{'Key': 'owner', 'Value': 'platform'}])
        for key in ['aws:owner', 'AWS:owner', 'Aws:x']:
            with self.subTest(key):
                self.assertInvalid('tag_resource', ResourceArn=arn, Tags=[{'Key': 'fine', 'Value': 'v'}, {'Key': key, 'Value': 'v'}])
                self.assertInvalid('untag_resource', ResourceArn=arn, TagKeys=[key])
                self.assertInvalid('create_permission_set', Name=unique('reserved'), Tags=[{'Key': key, 'Value': 'v'}])
        self.assertEqual(self.admin.list_tags_for_resource(InstanceArn=self.instance_arn, ResourceArn=arn)['Tags'], [{'Key': 'owner', 'Value': 'platform'}])
        # Only the prefix is reserved.
        self.admin.tag_resource(InstanceArn=self.instance_arn, ResourceArn=arn, Tags=[{'Key': 'awsx', 'Value': 'aws:value'}])

    def test_a_next_token_it_did_not_issue(self):
        arn = self.create_permission_set(Tags=[{'Key': 'owner', 'Value': 'platform'}])
        self.assertInvalid('list_tags_for_resource', ResourceArn=arn, NextToken='zzz')

    def test_unknown_resources(self):
        unknown = unknown_permission_set(self.instance_arn)
        self.assertNotFound('tag_resource', ResourceArn=unknown, Tags=[{'Key': 'k', 'Value': 'v'}])
        self.assertNotFound('untag_resource', ResourceArn=unknown, TagKeys=['k'])
        self.assertNotFound('list_tags_for_resource', ResourceArn=unknown)
        self.assertNotFound('list_tags_for_resource', InstanceArn=None, ResourceArn=UNKNOWN_INSTANCE)
        # A permission set named with another instance.
        arn = self.create_permission_set()
        self.assertNotFound('list_tags_for_resource', InstanceArn=self.create_instance(), ResourceArn=arn)
        # A deleted permission set takes its tags with it.
        gone = self.create_permission_set(Tags=[{'Key': 'k', 'Value': 'v'}])
        self.admin.delete_permission_set(**self.ps(gone))
        self.assertNotFound('list_tags_for_resource', ResourceArn=gone)


class TerraformLifeCycleTests(SsoAdminTestCase):
    """What `terraform apply` and `terraform destroy` do with aws_ssoadmin_* resources, step by step."""

    def test_permission_set_assignment_update_reprovision_unassign_delete(self):
        admin = self.admin
        # data "aws_ssoadmin_instances": the instance and its identity store.
        instance = admin.list_instances()['Instances'][0]
        instance_arn, store_id = instance['InstanceArn'], instance['IdentityStoreId']
        self.assertEqual((instance_arn, store_id), (self.instance_arn, self.store_id))

        # aws_ssoadmin_permission_set, then its policies, boundary and tags.
        name = unique('Terraform')
        ps = admin.create_permission_set(InstanceArn=instance_arn, Name=name, Description='made by a plan', SessionDuration='PT8H',
                                         Tags=[{'Key': 'owner', 'Value': 'platform'}])['PermissionSet']
        arn = ps['PermissionSetArn']
        ref = {'InstanceArn': instance_arn, 'PermissionSetArn': arn}
        admin.attach_managed_policy_to_permission_set(**ref, ManagedPolicyArn=managed('ReadOnlyAccess'))
        admin.attach_customer_managed_policy_reference_to_permission_set(**ref, CustomerManagedPolicyReference={'Name': 'AppDeploy', 'Path': '/app/'})
        admin.put_inline_policy_to_permission_set(**ref, InlinePolicy=POLICY)
        admin.put_permissions_boundary_to_permission_set(**ref, PermissionsBoundary={'ManagedPolicyArn': managed('PowerUserAccess')})
        admin.tag_resource(InstanceArn=instance_arn, ResourceArn=arn, Tags=[{'Key': 'env', 'Value': 'test'}])

        # The refresh reads everything back.
        self.assertEqual(admin.describe_permission_set(**ref)['PermissionSet']['SessionDuration'], 'PT8H')
        self.assertEqual(admin.list_managed_policies_in_permission_set(**ref)['AttachedManagedPolicies'],
                         [{'Name': 'ReadOnlyAccess', 'Arn': managed('ReadOnlyAccess')}])
        self.assertEqual(admin.list_customer_managed_policy_references_in_permission_set(**ref)['CustomerManagedPolicyReferences'],
                         [{'Name': 'AppDeploy', 'Path': '/app/'}])
        self.assertEqual(admin.get_inline_policy_for_permission_set(**ref)['InlinePolicy'], POLICY)
        self.assertEqual(admin.get_permissions_boundary_for_permission_set(**ref)['PermissionsBoundary'], {'ManagedPolicyArn': managed('PowerUserAccess')})
        self.assertEqual(admin.list_tags_for_resource(InstanceArn=instance_arn, ResourceArn=arn)['Tags'],
                         [{'Key': 'env', 'Value': 'test'}, {'Key': 'owner', 'Value': 'platform'}])
        self.assertEqual(self.accounts_of(arn), [], 'nothing is provisioned before an assignment')

        # aws_ssoadmin_account_assignment for an identity store user.
        user_id = self.store.create_user(IdentityStoreId=store_id, UserName=unique('terraform'), DisplayName='Terraform User',
                                         Name={'GivenName': 'Terra', 'FamilyName': 'Form'})['UserId']
        assignment = self.assignment(arn, user_id)
        creation = admin.create_account_assignment(**assignment)['AccountAssignmentCreationStatus']
        self.assertEqual(creation['Status'], 'IN_PROGRESS', 'asynchronous: the request answers before the work is done')
        self.assertRegex(creation['RequestId'], UUID_PATTERN)
        self.assertEqual(
            (creation['TargetId'], creation['TargetType'], creation['PermissionSetArn'], creation['PrincipalType'], creation['PrincipalId']),
            (ACCOUNT, 'AWS_ACCOUNT', arn, 'USER', user_id))
        self.assertIsInstance(creation['CreatedDate'], datetime.datetime)
        created, seen = wait_for(lambda: self.creation_status(creation['RequestId']))
        self.assertEqual(seen[0], 'IN_PROGRESS', 'the first poll finds the request still running')
        self.assertEqual(created['Status'], 'SUCCEEDED', created.get('FailureReason'))
        self.assertNotIn('FailureReason', created)
        self.assertEqual((created['RequestId'], created['PrincipalId'], created['CreatedDate']), (creation['RequestId'], user_id, creation['CreatedDate']))
        listed = self.statuses('list_account_assignment_creation_status', Filter={'Status': 'SUCCEEDED'})
        self.assertIn(creation['RequestId'], [s['RequestId'] for s in listed])

        self.assertEqual(admin.list_account_assignments(InstanceArn=instance_arn, AccountId=ACCOUNT, PermissionSetArn=arn)['AccountAssignments'],
                         [{'AccountId': ACCOUNT, 'PermissionSetArn': arn, 'PrincipalType': 'USER', 'PrincipalId': user_id}])
        self.assertEqual(self.assignments_of(user_id), [{'AccountId': ACCOUNT, 'PermissionSetArn': arn, 'PrincipalType': 'USER', 'PrincipalId': user_id}])
        self.assertEqual(self.accounts_of(arn, PROVISIONED), [ACCOUNT])
        self.assertIn(arn, self.permission_sets_in(ACCOUNT, PROVISIONED))

        # A later plan changes the permission set: accounts keep the old version until it is provisioned again.
        admin.update_permission_set(**ref, SessionDuration='PT4H')
        self.assertEqual(self.accounts_of(arn, NOT_PROVISIONED), [ACCOUNT])
        self.assertEqual(self.accounts_of(arn, PROVISIONED), [])
        self.assertEqual(self.accounts_of(arn), [ACCOUNT])
        self.assertIn(arn, self.permission_sets_in(ACCOUNT, NOT_PROVISIONED))
        self.assertNotIn(arn, self.permission_sets_in(ACCOUNT, PROVISIONED))

        provisioning = admin.provision_permission_set(**ref, TargetType='ALL_PROVISIONED_ACCOUNTS')['PermissionSetProvisioningStatus']
        self.assertEqual((provisioning['Status'], provisioning['PermissionSetArn']), ('IN_PROGRESS', arn))
        self.assertRegex(provisioning['RequestId'], UUID_PATTERN)
        provisioned, seen = wait_for(lambda: self.provisioning_status(provisioning['RequestId']))
        self.assertEqual(seen[0], 'IN_PROGRESS')
        self.assertEqual(provisioned['Status'], 'SUCCEEDED', provisioned.get('FailureReason'))
        self.assertEqual(self.accounts_of(arn, NOT_PROVISIONED), [])
        self.assertEqual(self.accounts_of(arn, PROVISIONED), [ACCOUNT])
        listed = self.statuses('list_permission_set_provisioning_status', Filter={'Status': 'SUCCEEDED'})
        self.assertIn(provisioning['RequestId'], [s['RequestId'] for s in listed])

        # terraform destroy: the permission set cannot go while it is assigned.
        self.assertConflict('delete_permission_set', **ref)
        deletion = admin.delete_account_assignment(**assignment)['AccountAssignmentDeletionStatus']
        self.assertEqual(deletion['Status'], 'IN_PROGRESS')
        self.assertEqual((deletion['TargetId'], deletion['PermissionSetArn'], deletion['PrincipalId']), (ACCOUNT, arn, user_id))
        deleted, seen = wait_for(lambda: self.deletion_status(deletion['RequestId']))
        self.assertEqual(seen[0], 'IN_PROGRESS')
        self.assertEqual(deleted['Status'], 'SUCCEEDED', deleted.get('FailureReason'))
        listed = self.statuses('list_account_assignment_deletion_status')
        self.assertIn(deletion['RequestId'], [s['RequestId'] for s in listed])
        self.assertEqual(admin.list_account_assignments(InstanceArn=instance_arn, AccountId=ACCOUNT, PermissionSetArn=arn)['AccountAssignments'], [])
        self.assertEqual(self.accounts_of(arn), [], 'the last assignment gone, the role goes')
        self.assertNotIn(arn, self.permission_sets_in(ACCOUNT))

        admin.delete_permission_set(**ref)
        self.assertNotFound('describe_permission_set', **ref)
        self.assertNotIn(arn, admin.list_permission_sets(InstanceArn=instance_arn)['PermissionSets'])


class AccountAssignmentTests(SsoAdminTestCase):
    def setUp(self):
        self.arn = self.create_permission_set()

    def test_a_duplicate_assignment_succeeds_and_changes_nothing(self):
        user_id = self.create_user()
        self.assertEqual(self.assign(self.arn, user_id)['Status'], 'SUCCEEDED')
        self.assertEqual(self.assign(self.arn, user_id)['Status'], 'SUCCEEDED')
        listed = self.admin.list_account_assignments(InstanceArn=self.instance_arn, AccountId=ACCOUNT, PermissionSetArn=self.arn)['AccountAssignments']
        self.assertEqual([a['PrincipalId'] for a in listed], [user_id])

    def test_groups_are_assigned_too(self):
        group_id = self.create_group()
        self.assertEqual(self.assign(self.arn, group_id, principal_type='GROUP')['Status'], 'SUCCEEDED')
        self.assertEqual(self.assignments_of(group_id, 'GROUP'),
                         [{'AccountId': ACCOUNT, 'PermissionSetArn': self.arn, 'PrincipalType': 'GROUP', 'PrincipalId': group_id}])
        self.assertEqual(self.assignments_of(group_id, 'USER'), [])

    def test_principal_and_account_are_checked_by_the_request(self):
        group_id = self.create_group()
        # A user of another instance's identity store is not a principal of this instance.
        other_instance = self.create_instance()
        stranger = self.create_user(store_id=self.admin.describe_instance(InstanceArn=other_instance)['IdentityStoreId'])
        cases = (
            ('unknown user', {'principal_id': NO_SUCH_PRINCIPAL}, 'does not exist'),
            ('a group given as USER', {'principal_id': group_id}, 'does not exist'),
            ('a user of another store', {'principal_id': stranger}, 'does not exist'),
            ('an account outside the organization', {'principal_id': group_id, 'principal_type': 'GROUP', 'account': NOT_AN_ORGANIZATION_ACCOUNT},
             'not a member of the organization'),
        )
        failed = []
        for label, kwargs, reason in cases:
            with self.subTest(label):
                status = self.assign(self.arn, **kwargs)
                self.assertEqual(status['Status'], 'FAILED')
                self.assertIn(reason, status['FailureReason'])
                failed.append(status['RequestId'])
        listed = self.statuses('list_account_assignment_creation_status', Filter={'Status': 'FAILED'})
        self.assertLessEqual(set(failed), {s['RequestId'] for s in listed})
        self.assertEqual({s['Status'] for s in listed}, {'FAILED'})
        succeeded = self.statuses('list_account_assignment_creation_status', Filter={'Status': 'SUCCEEDED'})
        self.assertFalse(set(failed) & {s['RequestId'] for s in succeeded})
        self.assertEqual(self.admin.list_account_assignments(InstanceArn=self.instance_arn, AccountId=ACCOUNT, PermissionSetArn=self.arn)['AccountAssignments'], [])

    def test_deleting_an_assignment_that_does_not_exist_fails(self):
        status = self.unassign(self.arn, self.create_user())
        self.assertEqual(status['Status'], 'FAILED')
        self.assertEqual(status['FailureReason'], 'The account assignment does not exist')
        listed = self.statuses('list_account_assignment_deletion_status', Filter={'Status': 'FAILED'})
        self.assertIn(status['RequestId'], [s['RequestId'] for s in listed])
        self.assertEqual({s['Status'] for s in listed}, {'FAILED'})

    def test_permission_set_and_instance_are_checked_when_the_request_is_made(self):
        user_id = self.create_user()
        unknown = self.assignment(unknown_permission_set(self.instance_arn), user_id)
        self.assertNotFound('create_account_assignment', **unknown)
        self.assertNotFound('delete_account_assignment', **unknown)
        self.assertNotFound('create_account_assignment', **self.assignment(self.arn, user_id, instance_arn=UNKNOWN_INSTANCE))
        self.assertNotFound('list_account_assignments', AccountId=ACCOUNT, PermissionSetArn=unknown_permission_set(self.instance_arn))
        self.assertNotFound('list_account_assignments_for_principal', InstanceArn=UNKNOWN_INSTANCE, PrincipalId=user_id, PrincipalType='USER')
        self.assertNotFound('list_account_assignment_creation_status', InstanceArn=UNKNOWN_INSTANCE)
        self.assertNotFound('list_account_assignment_deletion_status', InstanceArn=UNKNOWN_INSTANCE)

    def test_malformed_members_are_validation_errors(self):
        user_id = self.create_user()
        target_pattern = self.admin.meta.service_model.shape_for('TargetId').metadata['pattern']
        self.assertInvalid('create_account_assignment', **self.assignment(self.arn, user_id, account='abcdefghijkl'),
                           message=validation_message('targetId', 'abcdefghijkl', f'Member must satisfy regular expression pattern: {target_pattern}'))
        self.assertInvalid('delete_account_assignment', **self.assignment(self.arn, 'not-a-principal-id'))
        self.assertInvalid('create_account_assignment', client=self.unchecked, **self.assignment(self.arn, user_id, principal_type='ROBOT'))
        self.assertInvalid('list_account_assignments', AccountId='12345678901x', PermissionSetArn=self.arn)
        self.assertInvalid('describe_account_assignment_creation_status', AccountAssignmentCreationRequestId='x' * 36)

    def test_unknown_request_ids(self):
        self.assertNotFound('describe_account_assignment_creation_status', AccountAssignmentCreationRequestId=NO_SUCH_REQUEST)
        self.assertNotFound('describe_account_assignment_deletion_status', AccountAssignmentDeletionRequestId=NO_SUCH_REQUEST)
        # A creation request is no deletion request, and belongs to its instance.
        user_id = self.create_user()
        request_id = self.admin.create_account_assignment(**self.assignment(self.arn, user_id))['AccountAssignmentCreationStatus']['RequestId']
        self.assertNotFound('describe_account_assignment_deletion_status', AccountAssignmentDeletionRequestId=request_id)
        self.assertNotFound('describe_account_assignment_creation_status', InstanceArn=UNKNOWN_INSTANCE, AccountAssignmentCreationRequestId=request_id)
        self.assertEqual(wait_for(lambda: self.creation_status(request_id))[0]['Status'], 'SUCCEEDED')

    def test_assignments_for_a_principal_filtered_and_paged(self):
        user_id = self.create_user()
        arns = sorted([self.arn, self.create_permission_set(), self.create_permission_set()])
        for arn in arns:
            self.assertEqual(self.assign(arn, user_id)['Status'], 'SUCCEEDED')
        pages = list(self.admin.get_paginator('list_account_assignments_for_principal').paginate(
            InstanceArn=self.instance_arn, PrincipalId=user_id, PrincipalType='USER', PaginationConfig={'PageSize': 2}))
        self.assertEqual([len(p['AccountAssignments']) for p in pages], [2, 1])
        self.assertEqual(sorted(a['PermissionSetArn'] for page in pages for a in page['AccountAssignments']), arns)
        self.assertEqual(len(self.assignments_of(user_id, Filter={'AccountId': ACCOUNT})), 3)
        self.assertEqual(self.assignments_of(user_id, Filter={'AccountId': NOT_AN_ORGANIZATION_ACCOUNT}), [])

    def test_the_role_stays_while_another_principal_is_assigned(self):
        first, second = self.create_user(), self.create_group()
        self.assertEqual(self.assign(self.arn, first)['Status'], 'SUCCEEDED')
        self.assertEqual(self.assign(self.arn, second, principal_type='GROUP')['Status'], 'SUCCEEDED')
        self.assertEqual(self.unassign(self.arn, first)['Status'], 'SUCCEEDED')
        self.assertEqual(self.accounts_of(self.arn), [ACCOUNT])
        self.assertConflict('delete_permission_set', **self.ps(self.arn))
        self.assertEqual(self.unassign(self.arn, second, principal_type='GROUP')['Status'], 'SUCCEEDED')
        self.assertEqual(self.accounts_of(self.arn), [])
        self.admin.delete_permission_set(**self.ps(self.arn))

    def test_deleting_a_user_deletes_its_assignments(self):
        user_id = self.create_user()
        self.assertEqual(self.assign(self.arn, user_id)['Status'], 'SUCCEEDED')
        self.store.delete_user(IdentityStoreId=self.store_id, UserId=user_id)
        self.assertEqual(self.assignments_of(user_id), [])
        self.assertEqual(self.accounts_of(self.arn), [])
        self.admin.delete_permission_set(**self.ps(self.arn))

    def test_paginator_pages_through_125_assignments(self):
        groups = [self.create_group() for _ in range(125)]
        # At most 15 assignment requests may be in flight: create them in waves.
        for start in range(0, len(groups), 15):
            requests = [self.admin.create_account_assignment(**self.assignment(self.arn, g, principal_type='GROUP'))['AccountAssignmentCreationStatus']
                        for g in groups[start:start + 15]]
            for request in requests:
                self.assertEqual(wait_for(lambda: self.creation_status(request['RequestId']))[0]['Status'], 'SUCCEEDED')
        paginator = self.admin.get_paginator('list_account_assignments')
        pages = list(paginator.paginate(InstanceArn=self.instance_arn, AccountId=ACCOUNT, PermissionSetArn=self.arn, PaginationConfig={'PageSize': 50}))
        self.assertEqual([len(p['AccountAssignments']) for p in pages], [50, 50, 25])
        self.assertNotIn('NextToken', pages[-1])
        listed = [a for page in pages for a in page['AccountAssignments']]
        self.assertEqual(sorted(a['PrincipalId'] for a in listed), sorted(groups))
        self.assertEqual({(a['AccountId'], a['PermissionSetArn'], a['PrincipalType']) for a in listed}, {(ACCOUNT, self.arn, 'GROUP')})
        # build_full_result joins the pages.
        full = paginator.paginate(InstanceArn=self.instance_arn, AccountId=ACCOUNT, PermissionSetArn=self.arn).build_full_result()
        self.assertEqual(len(full['AccountAssignments']), 125)
        self.assertEqual(self.accounts_of(self.arn), [ACCOUNT], 'one role however many principals')


class ProvisioningTests(SsoAdminTestCase):
    def setUp(self):
        self.arn = self.create_permission_set()

    def test_provision_into_one_account(self):
        user_id = self.create_user()
        self.assertEqual(self.assign(self.arn, user_id)['Status'], 'SUCCEEDED')
        self.admin.attach_managed_policy_to_permission_set(**self.ps(self.arn), ManagedPolicyArn=managed('ReadOnlyAccess'))
        self.assertEqual(self.accounts_of(self.arn, NOT_PROVISIONED), [ACCOUNT])
        status = self.provision(self.arn, ACCOUNT)
        self.assertEqual(status['Status'], 'SUCCEEDED', status.get('FailureReason'))
        self.assertEqual((status['AccountId'], status['PermissionSetArn']), (ACCOUNT, self.arn))
        self.assertEqual(self.accounts_of(self.arn, PROVISIONED), [ACCOUNT])
        # Tags are no content: they do not make the account stale.
        self.admin.tag_resource(InstanceArn=self.instance_arn, ResourceArn=self.arn, Tags=[{'Key': 'k', 'Value': 'v'}])
        self.assertEqual(self.accounts_of(self.arn, NOT_PROVISIONED), [])
        self.assertEqual(self.unassign(self.arn, user_id)['Status'], 'SUCCEEDED')

    def test_provision_one_account_of_two(self):
        # The management account may be assigned too: it is the second account here.
        management = self.admin.describe_instance(InstanceArn=self.instance_arn)['OwnerAccountId']
        user_id = self.create_user()
        for account in (ACCOUNT, management):
            self.assertEqual(self.assign(self.arn, user_id, account=account)['Status'], 'SUCCEEDED')
        both = sorted([ACCOUNT, management])
        pages = list(self.admin.get_paginator('list_accounts_for_provisioned_permission_set').paginate(
            **self.ps(self.arn), PaginationConfig={'PageSize': 1}))
        self.assertEqual([p['AccountIds'] for p in pages], [[a] for a in both])
        pages = self.admin.get_paginator('list_permission_sets_provisioned_to_account').paginate(
            InstanceArn=self.instance_arn, AccountId=management, PaginationConfig={'PageSize': 1})
        self.assertIn(self.arn, [arn for page in pages for arn in page.get('PermissionSets', [])])

        self.admin.put_permissions_boundary_to_permission_set(**self.ps(self.arn), PermissionsBoundary={'ManagedPolicyArn': managed('PowerUserAccess')})
        self.assertEqual(self.accounts_of(self.arn, NOT_PROVISIONED), both)
        self.assertEqual(self.provision(self.arn, management)['Status'], 'SUCCEEDED')
        self.assertEqual(self.accounts_of(self.arn, NOT_PROVISIONED), [ACCOUNT])
        self.assertEqual(self.accounts_of(self.arn, PROVISIONED), [management])
        self.assertEqual(self.provision(self.arn)['Status'], 'SUCCEEDED')
        self.assertEqual(self.accounts_of(self.arn, PROVISIONED), both)
        for account in (ACCOUNT, management):
            self.assertEqual(self.unassign(self.arn, user_id, account=account)['Status'], 'SUCCEEDED')

    def test_provisioning_an_account_without_an_assignment_fails(self):
        status = self.provision(self.arn, ACCOUNT)
        self.assertEqual(status['Status'], 'FAILED')
        self.assertTrue(status['FailureReason'])
        failed = self.statuses('list_permission_set_provisioning_status', Filter={'Status': 'FAILED'})
        self.assertIn(status['RequestId'], [s['RequestId'] for s in failed])
        self.assertEqual({s['Status'] for s in failed}, {'FAILED'})

    def test_all_provisioned_accounts_when_there_are_none(self):
        status = self.provision(self.arn)
        self.assertEqual(status['Status'], 'SUCCEEDED')
        self.assertEqual(self.accounts_of(self.arn), [])

    def test_target_id_goes_with_aws_account_only(self):
        self.assertInvalid('provision_permission_set', PermissionSetArn=self.arn, TargetType='AWS_ACCOUNT')
        self.assertInvalid('provision_permission_set', PermissionSetArn=self.arn, TargetType='ALL_PROVISIONED_ACCOUNTS', TargetId=ACCOUNT)

    def test_unknown_permission_set_instance_or_request(self):
        unknown = unknown_permission_set(self.instance_arn)
        self.assertNotFound('provision_permission_set', PermissionSetArn=unknown, TargetType='ALL_PROVISIONED_ACCOUNTS')
        self.assertNotFound('provision_permission_set', InstanceArn=UNKNOWN_INSTANCE, PermissionSetArn=self.arn, TargetType='ALL_PROVISIONED_ACCOUNTS')
        self.assertNotFound('describe_permission_set_provisioning_status', ProvisionPermissionSetRequestId=NO_SUCH_REQUEST)
        self.assertNotFound('list_permission_set_provisioning_status', InstanceArn=UNKNOWN_INSTANCE)
        self.assertNotFound('list_accounts_for_provisioned_permission_set', PermissionSetArn=unknown)
        self.assertNotFound('list_permission_sets_provisioned_to_account', InstanceArn=UNKNOWN_INSTANCE, AccountId=ACCOUNT)
        # An assignment request is no provisioning request.
        request_id = self.assign(self.arn, self.create_user())['RequestId']
        self.assertNotFound('describe_permission_set_provisioning_status', ProvisionPermissionSetRequestId=request_id)

    def test_malformed_members(self):
        self.assertInvalid('list_permission_sets_provisioned_to_account', AccountId='not-12-digit')
        self.assertInvalid('list_accounts_for_provisioned_permission_set', PermissionSetArn=self.arn, client=self.unchecked, ProvisioningStatus='SOMETIMES')
        self.assertInvalid('list_permission_set_provisioning_status', MaxResults=101)

    def test_an_account_without_permission_sets_lists_none(self):
        self.assertEqual(self.permission_sets_in(NOT_AN_ORGANIZATION_ACCOUNT), [])


class InFlightTests(SsoAdminTestCase):
    """On the slow server, whose asynchronous requests stay IN_PROGRESS for a minute."""

    @classmethod
    def setUpClass(cls):
        cls.admin = make_admin(SLOW_ENDPOINT)
        cls.unchecked = make_admin(SLOW_ENDPOINT, parameter_validation=False)
        cls.store = make_store(SLOW_ENDPOINT)
        instance = organization_instance(cls.admin)
        cls.instance_arn = instance['InstanceArn']
        cls.store_id = instance['IdentityStoreId']

    # Account instances take no permission sets, so both tests run in the slow server's organization instance, this
    # one first (unittest runs them by name): the next one's only request is a provisioning, which the limit leaves out.
    def test_at_most_15_assignment_requests_in_flight(self):
        instance_arn, store_id = self.instance_arn, self.store_id
        arn = self.create_permission_set(instance_arn=instance_arn)
        group_id = self.create_group(store_id=store_id)
        assignment = self.assignment(arn, group_id, principal_type='GROUP', instance_arn=instance_arn)
        requests = [self.admin.create_account_assignment(**assignment)['AccountAssignmentCreationStatus'] for _ in range(15)]
        self.assertEqual({r['Status'] for r in requests}, {'IN_PROGRESS'})
        self.assertEqual(self.creation_status(requests[0]['RequestId'], instance_arn)['Status'], 'IN_PROGRESS')
        in_progress = self.statuses('list_account_assignment_creation_status', instance_arn, Filter={'Status': 'IN_PROGRESS'}, PaginationConfig={'PageSize': 10})
        self.assertEqual(sorted(s['RequestId'] for s in in_progress), sorted(r['RequestId'] for r in requests))

        # Creations and deletions alike count against the limit.
        self.assertError('ThrottlingException', 'create_account_assignment', **assignment)
        self.assertError('ThrottlingException', 'delete_account_assignment', **assignment)
        # Provisioning does not.
        provisioning = self.admin.provision_permission_set(**self.ps(arn, instance_arn), TargetType='ALL_PROVISIONED_ACCOUNTS')['PermissionSetProvisioningStatus']
        status = self.provisioning_status(provisioning['RequestId'], instance_arn)
        self.assertEqual(status['Status'], 'IN_PROGRESS')
        self.assertNotIn('AccountId', status, 'ALL_PROVISIONED_ACCOUNTS names no account')
        in_progress = self.statuses('list_permission_set_provisioning_status', instance_arn, Filter={'Status': 'IN_PROGRESS'})
        self.assertEqual([s['RequestId'] for s in in_progress], [provisioning['RequestId']])

    def test_requests_in_flight_keep_the_permission_set(self):
        arn = self.create_permission_set()
        request = self.admin.provision_permission_set(**self.ps(arn), TargetType='ALL_PROVISIONED_ACCOUNTS')['PermissionSetProvisioningStatus']
        self.assertEqual(self.provisioning_status(request['RequestId'])['Status'], 'IN_PROGRESS')
        self.assertConflict('delete_permission_set', **self.ps(arn))


class ZzOperationCoverageTests(unittest.TestCase):
    """Runs last (unittest orders test classes by name) and looks at what the tests before it did through boto3."""

    def test_the_implemented_operations_are_in_botocores_model(self):
        self.assertGreaterEqual(len(OPERATIONS), 42)
        model = boto3.client('sso-admin').meta.service_model
        self.assertLessEqual(OPERATIONS, set(model.operation_names))

    def test_every_operation_succeeded_and_failed_with_a_modeled_error(self):
        if not OUTCOMES:
            self.fail('no sso-admin call was recorded: run the whole module, not this class alone')
        model = boto3.client('sso-admin').meta.service_model
        modeled_errors = {shape.name for shape in model.error_shapes}
        never_succeeded = sorted(op for op in OPERATIONS if 'OK' not in OUTCOMES[op])
        never_failed = sorted(op for op in OPERATIONS if not (OUTCOMES[op] - {'OK'}))
        self.assertEqual(never_succeeded, [], 'operations never called successfully')
        self.assertEqual(never_failed, [], 'operations whose error path was never exercised')
        errors = set().union(*OUTCOMES.values()) - {'OK'}
        self.assertLessEqual(errors, modeled_errors, 'every error answered is one botocore models')


if __name__ == '__main__':
    unittest.main()
