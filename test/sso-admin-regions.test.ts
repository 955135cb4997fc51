// SSO Admin regions through the JavaScript SDK v3: the primary region from the start, AddRegion's ADDING then ACTIVE
// and RemoveRegion's REMOVING then gone as the server's clock moves on, paging, the limit and the errors.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  AddRegionCommand,
  CreateInstanceCommand,
  DeleteInstanceCommand,
  DescribeInstanceCommand,
  DescribeRegionCommand,
  ListRegionsCommand,
  RemoveRegionCommand,
  SSOAdminClient,
  paginateListRegions,
} from '@aws-sdk/client-sso-admin';
import { ADMIN, REGION, rejectsWith, startGatehouse, type TestServer } from './helpers/index.js';

/** How long adding or removing a region takes on the test server (provisioningDelayMs). */
const DELAY_MS = 60_000;
const UNKNOWN_INSTANCE = 'arn:aws:sso:::instance/ssoins-0000000000000000';

describe('sso-admin regions', () => {
  let server: TestServer;
  let admin: SSOAdminClient;
  let instanceArn: string;

  const add = (RegionName: string, InstanceArn = instanceArn) => admin.send(new AddRegionCommand({ InstanceArn, RegionName }));
  const removeRegion = (RegionName: string, InstanceArn = instanceArn) => admin.send(new RemoveRegionCommand({ InstanceArn, RegionName }));
  const describeRegion = async (RegionName: string, InstanceArn = instanceArn) => {
    const { $metadata, ...region } = await admin.send(new DescribeRegionCommand({ InstanceArn, RegionName }));
    assert.equal($metadata.httpStatusCode, 200);
    return region;
  };
  const names = async (InstanceArn = instanceArn) => {
    const regions = [];
    for await (const page of paginateListRegions({ client: admin }, { InstanceArn })) regions.push(...page.Regions!);
    return regions.map((r) => `${r.RegionName}:${r.Status}`);
  };
  /** Lets the add or remove workflow finish on the server's clock. */
  const finish = () => server.clock.advance(DELAY_MS);

  before(async () => {
    server = await startGatehouse({ env: { GATEHOUSE_PROVISIONING_DELAY_MS: String(DELAY_MS) } });
    admin = new SSOAdminClient({ endpoint: server.url, region: REGION, credentials: ADMIN, maxAttempts: 1 });
    // An account instance of its own, so the organization instance keeps only its primary region.
    instanceArn = (await admin.send(new CreateInstanceCommand({ Name: 'regions' }))).InstanceArn!;
  });
  after(() => server.stop());

  test('the primary region is listed from the start: ACTIVE, primary, added when the instance was created', async () => {
    const { CreatedDate } = await admin.send(new DescribeInstanceCommand({ InstanceArn: server.instanceArn }));
    const { Regions, NextToken } = await admin.send(new ListRegionsCommand({ InstanceArn: server.instanceArn }));
    assert.equal(NextToken, undefined);
    assert.deepEqual(Regions, [{ RegionName: REGION, Status: 'ACTIVE', AddedDate: CreatedDate, IsPrimaryRegion: true }]);
    assert.deepEqual(await describeRegion(REGION, server.instanceArn), { RegionName: REGION, Status: 'ACTIVE', AddedDate: CreatedDate, IsPrimaryRegion: true });
  });

  test('AddRegion: ADDING, then ACTIVE once the workflow is done; RemoveRegion: REMOVING, then gone', async () => {
    const before = Date.now();
    assert.equal((await add('eu-west-1')).Status, 'ADDING');
    const adding = await describeRegion('eu-west-1');
    assert.equal(adding.Status, 'ADDING');
    assert.equal(adding.IsPrimaryRegion, false);
    assert.ok(adding.AddedDate!.getTime() >= before - 1000, 'AddedDate is when AddRegion was called');
    assert.deepEqual(await names(), ['eu-west-1:ADDING', `${REGION}:ACTIVE`]);

    server.clock.advance(DELAY_MS - 5_000);
    assert.equal((await describeRegion('eu-west-1')).Status, 'ADDING', 'still adding before the delay has passed');
    server.clock.advance(5_000);
    const active = await describeRegion('eu-west-1');
    assert.deepEqual(active, { ...adding, Status: 'ACTIVE' });
    assert.deepEqual(await names(), ['eu-west-1:ACTIVE', `${REGION}:ACTIVE`]);

    assert.equal((await removeRegion('eu-west-1')).Status, 'REMOVING');
    assert.equal((await describeRegion('eu-west-1')).Status, 'REMOVING');
    assert.deepEqual(await names(), ['eu-west-1:REMOVING', `${REGION}:ACTIVE`]);
    finish();
    await rejectsWith(describeRegion('eu-west-1'), 'ResourceNotFoundException', { status: 400 });
    assert.deepEqual(await names(), [`${REGION}:ACTIVE`]);

    // Once gone, it can be added again.
    assert.equal((await add('eu-west-1')).Status, 'ADDING');
    finish();
    assert.equal((await describeRegion('eu-west-1')).Status, 'ACTIVE');
    await removeRegion('eu-west-1');
    finish();
  });

  test('one add or remove at a time: another while one is in progress is a ConflictException', async () => {
    await add('eu-central-1');
    await rejectsWith(add('ap-southeast-2'), 'ConflictException', { status: 400 });
    await rejectsWith(removeRegion('eu-central-1'), 'ConflictException');
    finish();
    await add('ap-southeast-2');
    await rejectsWith(removeRegion('eu-central-1'), 'ConflictException');
    finish();
    await removeRegion('eu-central-1');
    await rejectsWith(add('us-west-2'), 'ConflictException');
    await rejectsWith(removeRegion('eu-central-1'), 'ConflictException');
    await rejectsWith(add('eu-central-1'), 'ConflictException', { message: /being removed/ });
    finish();
    await removeRegion('ap-southeast-2');
    finish();
    assert.deepEqual(await names(), [`${REGION}:ACTIVE`]);
  });

  test('adding a region twice, or the primary one, is a ConflictException; removing the primary a ValidationException', async () => {
    await add('us-west-2');
    finish();
    await rejectsWith(add('us-west-2'), 'ConflictException');
    await rejectsWith(add(REGION), 'ConflictException');
    await rejectsWith(removeRegion(REGION), 'ValidationException', { status: 400 });
    await removeRegion('us-west-2');
    finish();
  });

  test('errors: unknown instance, a region not enabled, malformed names, another partition', async () => {
    await rejectsWith(add('eu-west-1', UNKNOWN_INSTANCE), 'ResourceNotFoundException');
    await rejectsWith(removeRegion('eu-west-1', UNKNOWN_INSTANCE), 'ResourceNotFoundException');
    await rejectsWith(describeRegion('eu-west-1', UNKNOWN_INSTANCE), 'ResourceNotFoundException');
    await rejectsWith(admin.send(new ListRegionsCommand({ InstanceArn: UNKNOWN_INSTANCE })), 'ResourceNotFoundException');
    await rejectsWith(removeRegion('eu-north-1'), 'ResourceNotFoundException');
    await rejectsWith(describeRegion('eu-north-1'), 'ResourceNotFoundException');
    for (const bad of ['EU-WEST-1', 'euwest1', 'eu-west', 'eu-west-1a', 'a-b-c-d-1']) {
      await rejectsWith(add(bad), 'ValidationException', { status: 400 });
      await rejectsWith(describeRegion(bad), 'ValidationException');
    }
    await rejectsWith(add('cn-north-1'), 'ValidationException');
    await rejectsWith(add('us-gov-west-1'), 'ValidationException');
    assert.deepEqual(await names(), [`${REGION}:ACTIVE`]);
  });

  test('ListRegions pages by name with MaxResults and NextToken; the regions go with a deleted instance', async () => {
    const { InstanceArn } = await admin.send(new CreateInstanceCommand({ Name: 'regions-paging' }));
    for (const region of ['ap-northeast-1', 'eu-west-3', 'sa-east-1']) {
      await add(region, InstanceArn);
      finish();
    }
    const pages = [];
    for await (const page of paginateListRegions({ client: admin, pageSize: 2 }, { InstanceArn: InstanceArn! })) pages.push(page);
    assert.deepEqual(
      pages.map((p) => p.Regions!.map((r) => r.RegionName)),
      [
        ['ap-northeast-1', 'eu-west-3'],
        ['sa-east-1', REGION],
      ],
    );
    assert.equal(pages[1].NextToken, undefined);
    assert.deepEqual(
      pages.flatMap((p) => p.Regions!).map((r) => r.IsPrimaryRegion),
      [false, false, false, true],
    );
    const { NextToken } = pages[0];
    await rejectsWith(admin.send(new ListRegionsCommand({ InstanceArn: instanceArn, NextToken })), 'ValidationException');
    await rejectsWith(admin.send(new ListRegionsCommand({ InstanceArn, MaxResults: 0 })), 'ValidationException');

    await admin.send(new DeleteInstanceCommand({ InstanceArn }));
    assert.deepEqual(await server.app.storage.db.selectFrom('instance_regions').selectAll().where('instance_arn', '=', InstanceArn!).execute(), []);
  });

  test('the additional regions of an instance are limited: ServiceQuotaExceededException beyond', async () => {
    // The limit from a config file, as an operator sets it.
    const configFile = join(server.dataDir, 'limits.json');
    writeFileSync(configFile, JSON.stringify({ limits: { additionalRegionsPerInstance: 2 } }));
    const limited = await startGatehouse({ env: { GATEHOUSE_PROVISIONING_DELAY_MS: '0', GATEHOUSE_CONFIG: configFile } });
    try {
      const client = new SSOAdminClient({ endpoint: limited.url, region: REGION, credentials: ADMIN, maxAttempts: 1 });
      const send = (RegionName: string) => client.send(new AddRegionCommand({ InstanceArn: limited.instanceArn, RegionName }));
      await send('eu-west-1');
      await send('eu-west-2');
      await rejectsWith(send('eu-west-3'), 'ServiceQuotaExceededException', { status: 400 });
      await client.send(new RemoveRegionCommand({ InstanceArn: limited.instanceArn, RegionName: 'eu-west-1' }));
      await send('eu-west-3');
    } finally {
      await limited.stop();
    }
  });
});
