"""boto3 against Gatehouse's identity store: all 19 operations, and their errors as botocore surfaces them.

Run by test/boto3-identitystore.test.ts with AWS_ENDPOINT_URL, the test admin key and GATEHOUSE_IDENTITY_STORE_ID set.
Every test makes its own users and groups (names carry a random suffix), so tests do not depend on one another.

What the assertions rely on:
- AWS answers awsJson client errors with HTTP 400; botocore takes the error code from the body's ``__type`` and raises
  the modeled exception class (``client.exceptions.ConflictException``, …).
- botocore copies the members of a modeled error body (Message, RequestId, Reason, ResourceType, ResourceId) to the
  top level of ``e.response``, beside ``Error`` and ``ResponseMetadata``.
- botocore checks only required members, minimum lengths and unions before sending; the ``unchecked`` client
  (``parameter_validation=False``) sends what botocore would refuse, so that the server's own validation answers.
- Validation messages read as AWS writes them: ``1 validation error detected: Value '<v>' at '<path>' failed to
  satisfy constraint: <constraint>``. The values of members the model marks sensitive (UserName, DisplayName, …) are
  left out (``Value at '<path>'``), and a missing member reads ``Value null at '<path>'``.
"""
import os
import unittest
import uuid

import boto3
import botocore.config
from botocore.exceptions import ClientError

STORE = os.environ['GATEHOUSE_IDENTITY_STORE_ID']
# Well-formed ids that name nothing on this server.
OTHER_STORE = 'd-0000000000'
NO_SUCH_ID = '0000000000-00000000-0000-4000-8000-000000000000'

UUID_PATTERN = r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
RESOURCE_ID_PATTERN = r'^[0-9a-f]{10}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
# Model patterns as the model states them (and AWS quotes them in messages).
RESOURCE_ID_MODEL_PATTERN = '([0-9a-f]{10}-|)[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}'
USER_NAME_MODEL_PATTERN = r'[\p{L}\p{M}\p{S}\p{N}\p{P}]+'

ENTERPRISE = 'aws:identitystore:enterprise'
SCIM_ISSUER = 'https://scim.example.com'


def unique(prefix):
    """A name no other test uses."""
    return f'{prefix}-{uuid.uuid4().hex[:12]}'


def user_params(user_name=None, **attributes):
    """CreateUser parameters for a user Identity Center accepts (it needs DisplayName and Name)."""
    return {
        'IdentityStoreId': STORE,
        'UserName': user_name or unique('user'),
        'DisplayName': 'Test User',
        'Name': {'GivenName': 'Test', 'FamilyName': 'User'},
        **attributes,
    }


def operations(*ops):
    """AttributeOperations from (path, value) pairs; a bare path removes that attribute."""
    return [{'AttributePath': op} if isinstance(op, str) else {'AttributePath': op[0], 'AttributeValue': op[1]} for op in ops]


def by_attribute(path, value):
    return {'UniqueAttribute': {'AttributePath': path, 'AttributeValue': value}}


def member(user_id):
    return {'UserId': user_id}


def validation_message(path, constraint, value=None, missing=False):
    """AWS's text for one violated constraint; without a value the member is sensitive and its value left out."""
    if missing:
        subject = f'Value null at {path!r}'
    elif value is None:
        subject = f'Value at {path!r}'
    else:
        subject = f'Value {value!r} at {path!r}'
    return f'1 validation error detected: {subject} failed to satisfy constraint: {constraint}'


def make_client(**config):
    return boto3.client('identitystore', config=botocore.config.Config(retries={'max_attempts': 1}, **config))


class IdentityStoreTestCase(unittest.TestCase):
    """Clients, factories for users, groups and memberships, and assertions for errors."""

    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.client = make_client()
        # Sends what botocore's own validation would refuse, to reach the server's validation.
        cls.unchecked = make_client(parameter_validation=False)

    # Factories -------------------------------------------------------------------------------------------------

    def create_user(self, user_name=None, **attributes):
        response = self.client.create_user(**user_params(user_name, **attributes))
        self.assertEqual(response['IdentityStoreId'], STORE)
        self.assertRegex(response['UserId'], RESOURCE_ID_PATTERN)
        return response['UserId']

    def create_group(self, display_name=None, **attributes):
        response = self.client.create_group(IdentityStoreId=STORE, DisplayName=display_name or unique('group'), **attributes)
        self.assertEqual(response['IdentityStoreId'], STORE)
        self.assertRegex(response['GroupId'], RESOURCE_ID_PATTERN)
        return response['GroupId']

    def add_member(self, group_id, user_id):
        response = self.client.create_group_membership(IdentityStoreId=STORE, GroupId=group_id, MemberId=member(user_id))
        self.assertEqual(response['IdentityStoreId'], STORE)
        self.assertRegex(response['MembershipId'], RESOURCE_ID_PATTERN)
        return response['MembershipId']

    # Shorthands ------------------------------------------------------------------------------------------------

    def describe_user(self, user_id, **params):
        return self.client.describe_user(IdentityStoreId=STORE, UserId=user_id, **params)

    def update_user(self, user_id, *ops):
        return self.client.update_user(IdentityStoreId=STORE, UserId=user_id, Operations=operations(*ops))

    def user_id_by(self, path, value):
        return self.client.get_user_id(IdentityStoreId=STORE, AlternateIdentifier=by_attribute(path, value))['UserId']

    def memberships_of_group(self, group_id):
        return self.client.list_group_memberships(IdentityStoreId=STORE, GroupId=group_id)['GroupMemberships']

    def memberships_of_user(self, user_id):
        return self.client.list_group_memberships_for_member(IdentityStoreId=STORE, MemberId=member(user_id))['GroupMemberships']

    # Errors ----------------------------------------------------------------------------------------------------

    def assertError(self, code, operation, /, message=None, unchecked=False, **params):
        """Calls the client method named `operation` (IdentityStoreId defaults to the test store), expects botocore to
        raise the modeled exception `code`, checks what every identitystore error carries and returns e.response."""
        client = self.unchecked if unchecked else self.client
        params.setdefault('IdentityStoreId', STORE)
        with self.assertRaises(getattr(client.exceptions, code)) as caught:
            getattr(client, operation)(**params)
        self.assertIsInstance(caught.exception, ClientError)
        response = caught.exception.response
        self.assertEqual(response['Error']['Code'], code)
        self.assertEqual(response['ResponseMetadata']['HTTPStatusCode'], 400, 'AWS answers awsJson client errors with 400')
        request_id = response['ResponseMetadata']['RequestId']
        self.assertRegex(request_id, UUID_PATTERN)
        # identitystore's error shapes carry Message and RequestId in the body; botocore lifts them to the top level.
        self.assertEqual(response['Message'], response['Error']['Message'])
        self.assertEqual(response['RequestId'], request_id)
        if message is not None:
            self.assertEqual(response['Error']['Message'], message)
        return response

    def assertNotFound(self, resource_type, resource_id, operation, /, **params):
        """ResourceNotFoundException naming the resource type (and the id, unless resource_id is None)."""
        response = self.assertError('ResourceNotFoundException', operation, **params)
        self.assertEqual(response['ResourceType'], resource_type)
        if resource_id is not None:
            self.assertEqual(response['ResourceId'], resource_id)
        return response

    def assertConflict(self, operation, /, **params):
        response = self.assertError('ConflictException', operation, **params)
        self.assertEqual(response['Reason'], 'UNIQUENESS_CONSTRAINT_VIOLATION')
        self.assertTrue(response['Message'])
        return response

    def assertInvalid(self, operation, /, message=None, **params):
        return self.assertError('ValidationException', operation, message=message, **params)


class UserTests(IdentityStoreTestCase):
    def test_create_and_describe_user(self):
        name = unique('ada')
        full_name = {'GivenName': 'Ada', 'FamilyName': 'Lovelace', 'Formatted': 'Ada King Lovelace'}
        emails = [{'Value': f'{name}@example.com', 'Type': 'work', 'Primary': True}]
        phones = [{'Value': '+44 20 7946 0000', 'Type': 'work'}]
        user_id = self.create_user(name, DisplayName='Ada Lovelace', Name=full_name, NickName='ada', Title='Analyst', Emails=emails, PhoneNumbers=phones)

        user = self.describe_user(user_id)
        self.assertEqual((user['IdentityStoreId'], user['UserId'], user['UserName']), (STORE, user_id, name))
        self.assertEqual(user['DisplayName'], 'Ada Lovelace')
        self.assertEqual(user['Name'], full_name)
        self.assertEqual((user['NickName'], user['Title']), ('ada', 'Analyst'))
        self.assertEqual(user['Emails'], emails)
        self.assertEqual(user['PhoneNumbers'], phones)
        # Timestamps travel as epoch seconds; botocore turns them into datetimes.
        self.assertLessEqual(user['CreatedAt'], user['UpdatedAt'])

    def test_describe_user_that_does_not_exist(self):
        self.assertNotFound('USER', NO_SUCH_ID, 'describe_user', UserId=NO_SUCH_ID)

    def test_user_names_are_unique_ignoring_case(self):
        name = unique('Grace')
        self.create_user(name)
        self.assertConflict('create_user', **user_params(name.upper()))

    def test_reserved_user_names_are_refused(self):
        for reserved in ('Administrator', 'AWSAdministrators', 'administrator'):
            with self.subTest(reserved):
                self.assertInvalid('create_user', **user_params(reserved))

    def test_identity_center_requires_display_name_and_name(self):
        # The model leaves these optional, but Identity Center refuses a user without them.
        for missing in ('DisplayName', 'Name'):
            with self.subTest(missing=missing):
                params = user_params()
                del params[missing]
                self.assertInvalid('create_user', **params)

    def test_delete_user(self):
        user_id = self.create_user()
        response = self.client.delete_user(IdentityStoreId=STORE, UserId=user_id)
        self.assertEqual(response['ResponseMetadata']['HTTPStatusCode'], 200)
        self.assertNotFound('USER', user_id, 'describe_user', UserId=user_id)
        self.assertNotFound('USER', user_id, 'delete_user', UserId=user_id)

    def test_get_user_id_by_user_name_and_email(self):
        name = unique('Linus')
        email = f'{name}@example.com'
        user_id = self.create_user(name, Emails=[{'Value': email, 'Primary': True}])
        response = self.client.get_user_id(IdentityStoreId=STORE, AlternateIdentifier=by_attribute('userName', name))
        self.assertEqual((response['UserId'], response['IdentityStoreId']), (user_id, STORE))
        self.assertEqual(self.user_id_by('userName', name.lower()), user_id, 'user names compare ignoring case')
        self.assertEqual(self.user_id_by('emails.value', email), user_id)

    def test_get_user_id_that_does_not_exist(self):
        for path in ('userName', 'emails.value'):
            with self.subTest(path=path):
                self.assertNotFound('USER', None, 'get_user_id', AlternateIdentifier=by_attribute(path, unique('nobody')))
        external = {'ExternalId': {'Issuer': SCIM_ISSUER, 'Id': unique('ext')}}
        self.assertNotFound('USER', None, 'get_user_id', AlternateIdentifier=external)

    def test_get_user_id_needs_exactly_one_identifier(self):
        # botocore refuses an empty or a double union itself; the server must too.
        self.assertInvalid('get_user_id', unchecked=True, AlternateIdentifier={})
        both = {**by_attribute('userName', 'x'), 'ExternalId': {'Issuer': SCIM_ISSUER, 'Id': 'x'}}
        self.assertInvalid('get_user_id', unchecked=True, AlternateIdentifier=both)

    def test_list_users_with_deprecated_user_name_filter(self):
        name = unique('Filtered')
        user_id = self.create_user(name)
        self.create_user()
        response = self.client.list_users(IdentityStoreId=STORE, Filters=[{'AttributePath': 'UserName', 'AttributeValue': name}])
        self.assertEqual([(u['UserId'], u['UserName']) for u in response['Users']], [(user_id, name)])
        self.assertNotIn('NextToken', response)
        nobody = [{'AttributePath': 'UserName', 'AttributeValue': unique('nobody')}]
        self.assertEqual(self.client.list_users(IdentityStoreId=STORE, Filters=nobody)['Users'], [])

    def test_enterprise_extension_is_returned_only_when_asked_for(self):
        extension = {'employeeNumber': '1042', 'costCenter': 'R&D'}
        user_id = self.create_user(Extensions={ENTERPRISE: extension})
        self.assertNotIn('Extensions', self.describe_user(user_id))
        self.assertEqual(self.describe_user(user_id, Extensions=[ENTERPRISE])['Extensions'], {ENTERPRISE: extension})


class UpdateUserTests(IdentityStoreTestCase):
    def test_replace_display_name_and_given_name(self):
        user_id = self.create_user(DisplayName='Before', Name={'GivenName': 'Old', 'FamilyName': 'Kept'})
        before = self.describe_user(user_id)
        self.update_user(user_id, ('displayName', 'After'), ('name.givenName', 'New'))
        user = self.describe_user(user_id)
        self.assertEqual(user['DisplayName'], 'After')
        self.assertEqual(user['Name'], {'GivenName': 'New', 'FamilyName': 'Kept'})
        self.assertEqual(user['CreatedAt'], before['CreatedAt'])
        self.assertGreaterEqual(user['UpdatedAt'], before['UpdatedAt'])

    def test_replace_emails_with_a_document_value(self):
        name = unique('mailer')
        old_email, new_email = f'{name}@old.example.com', f'{name}@new.example.com'
        user_id = self.create_user(name, Emails=[{'Value': old_email, 'Primary': True}])
        # Document values use the attributes' camelCase names.
        self.update_user(user_id, ('emails', [{'value': new_email, 'type': 'work', 'primary': True}]))
        self.assertEqual(self.describe_user(user_id)['Emails'], [{'Value': new_email, 'Type': 'work', 'Primary': True}])
        # The new address finds the user; the old one no longer does.
        self.assertEqual(self.user_id_by('emails.value', new_email), user_id)
        self.assertNotFound('USER', None, 'get_user_id', AlternateIdentifier=by_attribute('emails.value', old_email))

    def test_remove_an_optional_attribute(self):
        user_id = self.create_user(NickName='Nick', Title='Engineer')
        self.update_user(user_id, 'nickName')
        user = self.describe_user(user_id)
        self.assertNotIn('NickName', user)
        self.assertEqual(user['Title'], 'Engineer')

    def test_removing_display_name_is_refused(self):
        user_id = self.create_user(DisplayName='Stays')
        self.assertInvalid('update_user', UserId=user_id, Operations=operations('displayName'))
        self.assertEqual(self.describe_user(user_id)['DisplayName'], 'Stays')

    def test_operations_apply_together_or_not_at_all(self):
        user_id = self.create_user(DisplayName='Unchanged', Title='Unchanged')
        self.assertInvalid('update_user', UserId=user_id, Operations=operations(('title', 'Changed'), 'displayName'))
        user = self.describe_user(user_id)
        self.assertEqual((user['DisplayName'], user['Title']), ('Unchanged', 'Unchanged'))

    def test_rename_keeps_user_names_unique_ignoring_case(self):
        taken = unique('Taken')
        self.create_user(taken)
        user_id = self.create_user()
        self.assertConflict('update_user', UserId=user_id, Operations=operations(('userName', taken.lower())))
        # A user may change the case of its own name.
        own = unique('Self')
        renamed = self.create_user(own)
        self.update_user(renamed, ('userName', own.upper()))
        self.assertEqual(self.describe_user(renamed)['UserName'], own.upper())

    def test_update_user_that_does_not_exist(self):
        self.assertNotFound('USER', NO_SUCH_ID, 'update_user', UserId=NO_SUCH_ID, Operations=operations(('title', 'x')))

    def test_update_enterprise_extension_field(self):
        user_id = self.create_user(Extensions={ENTERPRISE: {'costCenter': 'A'}})
        self.update_user(user_id, (f'{ENTERPRISE}.costCenter', 'B'))
        self.assertEqual(self.describe_user(user_id, Extensions=[ENTERPRISE])['Extensions'], {ENTERPRISE: {'costCenter': 'B'}})


class GroupTests(IdentityStoreTestCase):
    def describe_group(self, group_id):
        return self.client.describe_group(IdentityStoreId=STORE, GroupId=group_id)

    def test_create_describe_update_delete_group(self):
        name = unique('Engineering')
        group_id = self.create_group(name, Description='Builders')
        group = self.describe_group(group_id)
        self.assertEqual((group['GroupId'], group['IdentityStoreId']), (group_id, STORE))
        self.assertEqual((group['DisplayName'], group['Description']), (name, 'Builders'))

        renamed = unique('Platform')
        self.client.update_group(IdentityStoreId=STORE, GroupId=group_id, Operations=operations(('displayName', renamed), 'description'))
        group = self.describe_group(group_id)
        self.assertEqual(group['DisplayName'], renamed)
        self.assertNotIn('Description', group)

        self.client.delete_group(IdentityStoreId=STORE, GroupId=group_id)
        self.assertNotFound('GROUP', group_id, 'describe_group', GroupId=group_id)
        self.assertNotFound('GROUP', group_id, 'delete_group', GroupId=group_id)
        self.assertNotFound('GROUP', group_id, 'update_group', GroupId=group_id, Operations=operations(('description', 'x')))

    def test_group_display_names_are_unique(self):
        name = unique('Ops')
        self.create_group(name)
        self.assertConflict('create_group', DisplayName=name)
        other = self.create_group()
        self.assertConflict('update_group', GroupId=other, Operations=operations(('displayName', name)))

    def test_reserved_group_names_and_missing_display_name_are_refused(self):
        for reserved in ('Administrator', 'AWSAdministrators'):
            with self.subTest(reserved):
                self.assertInvalid('create_group', DisplayName=reserved)
        # The model leaves DisplayName optional; Identity Center requires it.
        self.assertInvalid('create_group')
        group_id = self.create_group()
        self.assertInvalid('update_group', GroupId=group_id, Operations=operations('displayName'))

    def test_get_group_id_by_display_name(self):
        name = unique('Finance')
        group_id = self.create_group(name)
        response = self.client.get_group_id(IdentityStoreId=STORE, AlternateIdentifier=by_attribute('displayName', name))
        self.assertEqual((response['GroupId'], response['IdentityStoreId']), (group_id, STORE))
        self.assertNotFound('GROUP', None, 'get_group_id', AlternateIdentifier=by_attribute('displayName', unique('nobody')))

    def test_list_groups_with_deprecated_display_name_filter(self):
        name = unique('Listed')
        group_id = self.create_group(name)
        self.create_group()
        response = self.client.list_groups(IdentityStoreId=STORE, Filters=[{'AttributePath': 'DisplayName', 'AttributeValue': name}])
        self.assertEqual([(g['GroupId'], g['DisplayName']) for g in response['Groups']], [(group_id, name)])
        pages = self.client.get_paginator('list_groups').paginate(IdentityStoreId=STORE)
        everything = [g['GroupId'] for page in pages for g in page['Groups']]
        self.assertIn(group_id, everything)
        self.assertEqual(len(everything), len(set(everything)))


class MembershipTests(IdentityStoreTestCase):
    def setUp(self):
        self.user_id = self.create_user()
        self.group_id = self.create_group()

    def test_create_describe_and_find_a_membership(self):
        membership_id = self.add_member(self.group_id, self.user_id)
        described = self.client.describe_group_membership(IdentityStoreId=STORE, MembershipId=membership_id)
        self.assertEqual(
            (described['IdentityStoreId'], described['MembershipId'], described['GroupId'], described['MemberId']),
            (STORE, membership_id, self.group_id, member(self.user_id)),
        )
        found = self.client.get_group_membership_id(IdentityStoreId=STORE, GroupId=self.group_id, MemberId=member(self.user_id))
        self.assertEqual((found['MembershipId'], found['IdentityStoreId']), (membership_id, STORE))

    def test_a_member_joins_a_group_once(self):
        self.add_member(self.group_id, self.user_id)
        self.assertConflict('create_group_membership', GroupId=self.group_id, MemberId=member(self.user_id))

    def test_membership_of_unknown_user_or_group(self):
        self.assertNotFound('USER', NO_SUCH_ID, 'create_group_membership', GroupId=self.group_id, MemberId=member(NO_SUCH_ID))
        self.assertNotFound('GROUP', NO_SUCH_ID, 'create_group_membership', GroupId=NO_SUCH_ID, MemberId=member(self.user_id))
        self.assertNotFound('GROUP_MEMBERSHIP', NO_SUCH_ID, 'describe_group_membership', MembershipId=NO_SUCH_ID)
        self.assertNotFound('GROUP_MEMBERSHIP', None, 'get_group_membership_id', GroupId=self.group_id, MemberId=member(self.user_id))

    def test_list_memberships_of_a_group_and_of_a_member(self):
        other_user = self.create_user()
        other_group = self.create_group()
        first = self.add_member(self.group_id, self.user_id)
        second = self.add_member(self.group_id, other_user)
        third = self.add_member(other_group, self.user_id)

        of_group = self.memberships_of_group(self.group_id)
        self.assertEqual(sorted(m['MembershipId'] for m in of_group), sorted([first, second]))
        self.assertEqual({m['MemberId']['UserId'] for m in of_group}, {self.user_id, other_user})
        self.assertEqual({(m['GroupId'], m['IdentityStoreId']) for m in of_group}, {(self.group_id, STORE)})

        of_user = self.memberships_of_user(self.user_id)
        self.assertEqual(sorted(m['MembershipId'] for m in of_user), sorted([first, third]))
        self.assertEqual({m['GroupId'] for m in of_user}, {self.group_id, other_group})

        # Paging one membership at a time yields the same memberships.
        paginator = self.client.get_paginator('list_group_memberships')
        pages = paginator.paginate(IdentityStoreId=STORE, GroupId=self.group_id, PaginationConfig={'PageSize': 1})
        self.assertEqual(sorted(m['MembershipId'] for page in pages for m in page['GroupMemberships']), sorted([first, second]))

    def test_is_member_in_groups(self):
        other_group = self.create_group()
        self.add_member(self.group_id, self.user_id)
        response = self.client.is_member_in_groups(IdentityStoreId=STORE, MemberId=member(self.user_id), GroupIds=[self.group_id, other_group])
        results = {r['GroupId']: r for r in response['Results']}
        self.assertEqual(set(results), {self.group_id, other_group})
        self.assertTrue(results[self.group_id]['MembershipExists'])
        self.assertFalse(results[other_group]['MembershipExists'])
        self.assertEqual(results[self.group_id]['MemberId'], member(self.user_id))

    def test_delete_membership(self):
        membership_id = self.add_member(self.group_id, self.user_id)
        self.client.delete_group_membership(IdentityStoreId=STORE, MembershipId=membership_id)
        self.assertNotFound('GROUP_MEMBERSHIP', membership_id, 'describe_group_membership', MembershipId=membership_id)
        self.assertNotFound('GROUP_MEMBERSHIP', membership_id, 'delete_group_membership', MembershipId=membership_id)
        self.assertEqual(self.memberships_of_group(self.group_id), [])
        response = self.client.is_member_in_groups(IdentityStoreId=STORE, MemberId=member(self.user_id), GroupIds=[self.group_id])
        self.assertFalse(response['Results'][0]['MembershipExists'])

    def test_deleting_a_user_deletes_its_memberships(self):
        membership_id = self.add_member(self.group_id, self.user_id)
        staying = self.add_member(self.group_id, self.create_user())
        self.client.delete_user(IdentityStoreId=STORE, UserId=self.user_id)
        self.assertNotFound('GROUP_MEMBERSHIP', membership_id, 'describe_group_membership', MembershipId=membership_id)
        self.assertEqual([m['MembershipId'] for m in self.memberships_of_group(self.group_id)], [staying])

    def test_deleting_a_group_deletes_its_memberships(self):
        membership_id = self.add_member(self.group_id, self.user_id)
        self.client.delete_group(IdentityStoreId=STORE, GroupId=self.group_id)
        self.assertNotFound('GROUP_MEMBERSHIP', membership_id, 'describe_group_membership', MembershipId=membership_id)
        self.assertEqual(self.memberships_of_user(self.user_id), [])


class ServerValidationTests(IdentityStoreTestCase):
    """Constraints botocore does not check (maximums, patterns), or that only the unchecked client can send."""

    def test_user_name_longer_than_128_characters(self):
        # UserName is sensitive in the model, so AWS leaves its value out of the message.
        message = validation_message('userName', 'Member must have length less than or equal to 128')
        self.assertInvalid('create_user', message, **user_params('u' * 129))

    def test_user_name_outside_its_pattern(self):
        # AWS words it so for Cognito's sensitive username, which has the very same pattern.
        message = validation_message('userName', f'Member must satisfy regular expression pattern: {USER_NAME_MODEL_PATTERN}')
        self.assertInvalid('create_user', message, **user_params('two words'))

    def test_group_display_name_longer_than_1024_characters(self):
        message = validation_message('displayName', 'Member must have length less than or equal to 1024')
        self.assertInvalid('create_group', message, DisplayName='g' * 1025)

    def test_max_results_above_100(self):
        message = validation_message('maxResults', 'Member must have value less than or equal to 100', value='101')
        self.assertInvalid('list_users', message, MaxResults=101)
        self.assertInvalid('list_groups', message, MaxResults=101)

    def test_malformed_user_id(self):
        message = validation_message('userId', f'Member must satisfy regular expression pattern: {RESOURCE_ID_MODEL_PATTERN}', value='not-a-user-id')
        self.assertInvalid('describe_user', message, UserId='not-a-user-id')

    def test_malformed_identity_store_id(self):
        response = self.assertInvalid('list_users', IdentityStoreId='store-1')
        prefix = "1 validation error detected: Value 'store-1' at 'identityStoreId' failed to satisfy constraint: Member must satisfy regular expression pattern: "
        self.assertTrue(response['Message'].startswith(prefix), response['Message'])

    def test_too_many_group_ids(self):
        group_ids = [NO_SUCH_ID] * 101
        message = validation_message('groupIds', 'Member must have length less than or equal to 100', value='[' + ', '.join(group_ids) + ']')
        self.assertInvalid('is_member_in_groups', message, MemberId=member(NO_SUCH_ID), GroupIds=group_ids)

    def test_several_violations_are_reported_together(self):
        message = self.assertInvalid('list_groups', IdentityStoreId='store-1', MaxResults=101)['Message']
        self.assertTrue(message.startswith('2 validation errors detected: '), message)
        self.assertIn("Value '101' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100", message)
        self.assertIn("Value 'store-1' at 'identityStoreId'", message)

    def test_missing_required_member(self):
        # botocore would refuse to send this; AWS reports the absent member as `Value null` (no quotes).
        message = validation_message('userId', 'Member must not be null', missing=True)
        self.assertInvalid('describe_user', message, unchecked=True)

    def test_empty_operations_list(self):
        # botocore would refuse this too (minimum length 1).
        message = validation_message('operations', 'Member must have length greater than or equal to 1', value='[]')
        self.assertInvalid('update_user', message, unchecked=True, UserId=NO_SUCH_ID, Operations=[])

    def test_unknown_attribute_path(self):
        user_id = self.create_user()
        self.assertInvalid('update_user', UserId=user_id, Operations=operations(('favouriteColour', 'blue')))


class UnknownIdentityStoreTests(IdentityStoreTestCase):
    """Every operation answers a well-formed but unknown identity store id as AWS does."""

    CALLS = {
        'create_user': {k: v for k, v in user_params().items() if k != 'IdentityStoreId'},
        'describe_user': {'UserId': NO_SUCH_ID},
        'update_user': {'UserId': NO_SUCH_ID, 'Operations': operations(('title', 'x'))},
        'delete_user': {'UserId': NO_SUCH_ID},
        'list_users': {},
        'get_user_id': {'AlternateIdentifier': by_attribute('userName', 'x')},
        'create_group': {'DisplayName': unique('group')},
        'describe_group': {'GroupId': NO_SUCH_ID},
        'update_group': {'GroupId': NO_SUCH_ID, 'Operations': operations(('description', 'x'))},
        'delete_group': {'GroupId': NO_SUCH_ID},
        'list_groups': {},
        'get_group_id': {'AlternateIdentifier': by_attribute('displayName', 'x')},
        'create_group_membership': {'GroupId': NO_SUCH_ID, 'MemberId': member(NO_SUCH_ID)},
        'describe_group_membership': {'MembershipId': NO_SUCH_ID},
        'delete_group_membership': {'MembershipId': NO_SUCH_ID},
        'get_group_membership_id': {'GroupId': NO_SUCH_ID, 'MemberId': member(NO_SUCH_ID)},
        'list_group_memberships': {'GroupId': NO_SUCH_ID},
        'list_group_memberships_for_member': {'MemberId': member(NO_SUCH_ID)},
        'is_member_in_groups': {'MemberId': member(NO_SUCH_ID), 'GroupIds': [NO_SUCH_ID]},
    }

    def test_all_19_operations_are_covered(self):
        modeled = {self.client.meta.method_to_api_mapping[name] for name in self.CALLS}
        self.assertEqual(modeled, set(self.client.meta.service_model.operation_names))

    def test_every_operation_checks_the_identity_store(self):
        for operation, params in self.CALLS.items():
            with self.subTest(operation=operation):
                response = self.assertNotFound('IDENTITY_STORE', OTHER_STORE, operation, IdentityStoreId=OTHER_STORE, **params)
                self.assertEqual(response['Message'], f'IdentityStore not present for IdentityStoreId: {OTHER_STORE}')


class PaginationTests(IdentityStoreTestCase):
    USERS = 260

    def test_paginator_pages_through_260_users(self):
        prefix = unique('page')
        created = {self.create_user(f'{prefix}-{i:03d}') for i in range(self.USERS)}
        pages = list(self.client.get_paginator('list_users').paginate(IdentityStoreId=STORE, PaginationConfig={'PageSize': 100}))
        self.assertGreaterEqual(len(pages), 3)
        self.assertTrue(all(len(page['Users']) <= 100 for page in pages))
        self.assertNotIn('NextToken', pages[-1])
        listed = [u for page in pages for u in page['Users']]
        self.assertEqual(len(listed), len({u['UserId'] for u in listed}), 'no user is listed twice')
        mine = [u for u in listed if u['UserName'].startswith(prefix)]
        self.assertEqual({u['UserId'] for u in mine}, created)
        self.assertEqual(len({u['UserName'] for u in mine}), self.USERS)

    def test_tampered_next_token_is_refused(self):
        self.create_user()
        self.create_user()
        token = self.client.list_users(IdentityStoreId=STORE, MaxResults=1)['NextToken']
        # Change one character, keeping to the characters the NextToken pattern allows.
        tampered = token[:3] + ('A' if token[3] != 'A' else 'B') + token[4:]
        self.assertInvalid('list_users', MaxResults=1, NextToken=tampered)


if __name__ == '__main__':
    unittest.main()
