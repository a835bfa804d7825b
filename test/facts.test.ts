import { describe, expect, it } from 'vitest';
import { systemFacts } from '../src/controls/facts.ts';
import type { PolicyData, RepositoryData } from '../src/policy/model.ts';

const noFiles = { fileExists: () => false };

function policyWith(repositories: Record<string, RepositoryData>, names: string[]): PolicyData {
  return {
    apiVersion: 'restorable/v1',
    kind: 'BackupPolicy',
    metadata: { name: 'p' },
    repositories,
    systems: [{ name: 's', source: { command: ['true'] }, repositories: names }],
  };
}

describe('offsite: distinct known locations', () => {
  const repos: Record<string, RepositoryData> = {
    noRegion: { s3: { bucket: 'acme-a' } },
    east: { s3: { bucket: 'acme-b', region: 'us-east-1' } },
    eastByEndpoint: { s3: { bucket: 'acme-c', endpoint: 'https://s3.us-east-1.amazonaws.com' } },
    eastDualstack: { s3: { bucket: 'acme-d', endpoint: 'https://s3.dualstack.us-east-1.amazonaws.com' } },
    west: { s3: { bucket: 'acme-e', region: 'eu-west-1' } },
    b2: { s3: { bucket: 'acme-f', endpoint: 'https://s3.eu-central-003.backblazeb2.com' } },
    disk: { local: { path: 'backups' } },
  };
  const cases: [string[], number, boolean][] = [
    [['noRegion', 'east'], 1, false],
    [['east', 'eastByEndpoint'], 1, false],
    [['eastByEndpoint', 'eastDualstack'], 1, false],
    [['east', 'west'], 2, true],
    [['east', 'b2'], 2, true],
    [['disk', 'west'], 2, true],
    [['noRegion'], 0, false],
  ];
  for (const [names, locations, offsite] of cases) {
    it(`${names.join(' + ')}: ${locations} location(s), offsite ${offsite}`, () => {
      const facts = systemFacts(policyWith(repos, names), 0, noFiles);
      expect(facts.values['repositories.locations']).toBe(locations);
      expect(facts.values.offsite).toBe(offsite);
    });
  }
});

describe('inherited and derived facts', () => {
  it('takes owner, classification and runbook from the system, else the policy', () => {
    const policy = policyWith({ r: { local: { path: 'x' } } }, ['r']);
    policy.metadata = { name: 'p', owner: '@acme/team', classification: 'internal', runbook: 'docs/run.md' };
    policy.systems[0]!.classification = 'restricted';
    const facts = systemFacts(policy, 0, { fileExists: (p) => p === 'docs/run.md' });
    expect(facts.values).toMatchObject({
      owner: '@acme/team',
      'owner.valid': true,
      classification: 'restricted',
      'runbook.status': 'file',
    });
    expect(facts.at.classification).toEqual(['systems', 0, 'classification']);
    expect(facts.at.owner).toEqual(['metadata', 'owner']);
  });

  it('tells runbook URLs, missing files and escapes apart', () => {
    const status = (runbook: string) => {
      const policy = policyWith({ r: { local: { path: 'x' } } }, ['r']);
      policy.metadata.runbook = runbook;
      return systemFacts(policy, 0, noFiles).values['runbook.status'];
    };
    expect(status('https://wiki.example.com/dr')).toBe('url');
    expect(status('http://wiki.example.com/dr')).toBe('insecure-url');
    expect(status('docs/missing.md')).toBe('missing-file');
    expect(status('../outside.md')).toBe('outside-repository');
    expect(status('/etc/passwd')).toBe('outside-repository');
  });

  it('defaults the drill timeout to the RTO and measures schedule gaps', () => {
    const policy = policyWith({ r: { local: { path: 'x' } } }, ['r']);
    Object.assign(policy.systems[0]!, {
      rto: '2h',
      schedule: '0 9 * * 1-5',
      drill: { schedule: '0 5 1 */3 *' },
    });
    const facts = systemFacts(policy, 0, noFiles);
    expect(facts.values['drill.timeout']).toBe(7200);
    expect(facts.values['schedule.interval']).toBe(3 * 86_400);
    expect(facts.values['drill.interval']).toBe(92 * 86_400);
  });
});
