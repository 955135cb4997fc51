// An instance's regions: AddRegion, RemoveRegion, DescribeRegion, ListRegions.
//
// The primary region is the one the server runs in (config `region`), shown ACTIVE since the instance was created; it
// is not stored. An added region is ADDING for `provisioningDelayMs`, then ACTIVE; a removed one is REMOVING for as
// long, then gone. The status follows from the stored times and the request's clock, so no job has to move it on and
// every process sharing the database sees the same status at the same time.
import type { RegionMetadata, RegionStatus, SsoAdminOperations } from '../../generated/sso-admin.js';
import type { InstanceRegionTable, InstanceTable } from '../../storage/schema.js';
import type { Db } from '../../storage/storage.js';
import { pageScope } from '../../wire/pagination.js';
import type { Context, Handlers } from '../service.js';
import { conflict, invalid, notFound, quotaExceeded, requireInstance, instanceLock } from './common.js';
import { dropRemovedRegions, insertRegion, instanceRegions, markRegionRemoving } from './issuers-and-regions-store.js';

/** The status of an added region at `now`; undefined once its removal has completed. */
function statusAt(row: InstanceRegionTable, now: number): RegionStatus | undefined {
  if (row.removed_at !== null && now >= Number(row.removed_at)) return undefined;
  if (row.removing_at !== null) return 'REMOVING';
  return now < Number(row.active_at) ? 'ADDING' : 'ACTIVE';
}

const inProgress = (status: RegionStatus | undefined) => status === 'ADDING' || status === 'REMOVING';

/** The partition a region name belongs to, by AWS's prefixes. */
function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-iso')) return 'aws-iso';
  if (region.startsWith('eu-isoe-')) return 'aws-iso-e';
  return 'aws';
}

/** Every region of the instance at `now`, the primary one first, then the others by name. */
async function regionsOf(db: Db, ctx: Context, instance: InstanceTable): Promise<RegionMetadata[]> {
  const primary = ctx.app.config.region;
  const others = (await instanceRegions(db, instance.instance_arn, ctx.now)).flatMap((row): RegionMetadata[] => {
    const status = statusAt(row, ctx.now);
    // A stored region the server now runs in is the primary one (the `region` setting changed since).
    if (!status || row.region_name === primary) return [];
    return [{ RegionName: row.region_name, Status: status, AddedDate: new Date(Number(row.added_at)), IsPrimaryRegion: false }];
  });
  return [{ RegionName: primary, Status: 'ACTIVE', AddedDate: new Date(Number(instance.created_at)), IsPrimaryRegion: true }, ...others];
}

const notEnabled = (instanceArn: string, region: string) => notFound(`Region ${region} is not enabled for instance ${instanceArn}`);

export const regionHandlers: Handlers<SsoAdminOperations> = {
  async AddRegion(input, ctx) {
    const { storage, config } = ctx.app;
    const region = input.RegionName;
    if (partitionOf(region) !== partitionOf(config.region)) {
      throw invalid(`Region ${region} is not in the partition of the instance's primary Region ${config.region}.`);
    }
    await storage.transaction(
      async (trx) => {
        const instance = await requireInstance(trx, input.InstanceArn);
        if (region === config.region) throw conflict(`Region ${region} is the primary Region of instance ${input.InstanceArn}.`);
        await dropRemovedRegions(trx, input.InstanceArn, ctx.now);
        const regions = await regionsOf(trx, ctx, instance);
        const existing = regions.find((r) => r.RegionName === region);
        if (existing) throw conflict(`Region ${region} is already ${existing.Status === 'REMOVING' ? 'being removed from' : 'enabled for'} instance ${input.InstanceArn}.`);
        const running = regions.find((r) => inProgress(r.Status));
        if (running) throw conflict(`Region ${running.RegionName} is ${running.Status}; wait until no Region is being added or removed.`);
        const limit = config.limits.additionalRegionsPerInstance;
        if (regions.length - 1 >= limit) {
          ctx.app.log.warn({ requestId: ctx.requestId, additionalRegionsPerInstance: limit }, 'additional region limit reached: AddRegion refused');
          throw quotaExceeded(`An instance can be added to at most ${limit} Regions besides its primary Region.`);
        }
        await insertRegion(trx, {
          instance_arn: input.InstanceArn,
          region_name: region,
          added_at: ctx.now,
          active_at: ctx.now + config.provisioningDelayMs,
          removing_at: null,
          removed_at: null,
        });
      },
      // Adds and removes of an instance queue here, so the check for a running workflow holds until the write commits.
      { lock: instanceLock(input.InstanceArn) },
    );
    return { Status: 'ADDING' };
  },

  async RemoveRegion(input, ctx) {
    const { storage, config } = ctx.app;
    const region = input.RegionName;
    await storage.transaction(
      async (trx) => {
        const instance = await requireInstance(trx, input.InstanceArn);
        if (region === config.region) throw invalid(`Region ${region} is the primary Region of instance ${input.InstanceArn}; the primary Region cannot be removed.`);
        const regions = await regionsOf(trx, ctx, instance);
        const target = regions.find((r) => r.RegionName === region);
        if (!target) throw notEnabled(input.InstanceArn, region);
        const running = regions.find((r) => inProgress(r.Status));
        if (running) throw conflict(`Region ${running.RegionName} is ${running.Status}; wait until no Region is being added or removed.`);
        await markRegionRemoving(trx, input.InstanceArn, region, ctx.now, ctx.now + config.provisioningDelayMs);
      },
      { lock: instanceLock(input.InstanceArn) },
    );
    return { Status: 'REMOVING' };
  },

  async DescribeRegion(input, ctx) {
    const db = ctx.app.storage.db;
    const instance = await requireInstance(db, input.InstanceArn);
    const found = (await regionsOf(db, ctx, instance)).find((r) => r.RegionName === input.RegionName);
    if (!found) throw notEnabled(input.InstanceArn, input.RegionName);
    return found;
  },

  async ListRegions(input, ctx) {
    const db = ctx.app.storage.db;
    const instance = await requireInstance(db, input.InstanceArn);
    // At most `additionalRegionsPerInstance` + 1 regions: the list is built whole and paged by name.
    const regions = (await regionsOf(db, ctx, instance)).sort((a, b) => (a.RegionName! < b.RegionName! ? -1 : 1));
    const { items, NextToken } = await ctx.app.pageTokens.page(
      pageScope('sso-admin', 'ListRegions', input.InstanceArn),
      input,
      async (after, limit) => regions.filter((r) => after === undefined || r.RegionName! > after).slice(0, limit),
      (r) => r.RegionName!,
    );
    return { Regions: items, NextToken };
  },
};
