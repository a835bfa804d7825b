import { describe, expect, it } from 'vitest';
import { keyFileStatus, systemFacts } from '../src/controls/facts.ts';
import type { PolicyData, RepositoryData } from '../src/policy/model.ts';

const noFiles = { fileExists: () => false, readHead: () => undefined };

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
    const facts = systemFacts(policy, 0, { ...noFiles, fileExists: (p) => p === 'docs/run.md' });
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

describe('recipient key files', () => {
  const text = (t: string) => new TextEncoder().encode(t);
  it('tells public keys, private keys, missing files and other files apart', () => {
    expect(keyFileStatus(text('-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZ'))).toBe('public-keys');
    expect(keyFileStatus(text('\n  -----BEGIN PGP PUBLIC KEY BLOCK-----'))).toBe('public-keys');
    expect(keyFileStatus(text('-----BEGIN PGP PRIVATE KEY BLOCK-----\n'))).toBe('private-key');
    expect(keyFileStatus(undefined)).toBe('missing-file');
    expect(keyFileStatus(text('ssh-ed25519 AAAAC3Nz'))).toBe('not-a-public-key');
    // Binary packets: new-format public key (tag 6), new-format secret key (tag 5), old-format public key.
    expect(keyFileStatus(new Uint8Array([0xc6, 0x33, 0x04]))).toBe('public-keys');
    expect(keyFileStatus(new Uint8Array([0xc5, 0x58, 0x04]))).toBe('private-key');
    expect(keyFileStatus(new Uint8Array([0x99, 0x01, 0x0d]))).toBe('public-keys');
    expect(keyFileStatus(new Uint8Array([0x95, 0x01, 0x0d]))).toBe('private-key');
  });

  it('reports the worst key file and points at it; paths outside the repository are never read', () => {
    const files: Record<string, string> = {
      'keys/ops.asc': '-----BEGIN PGP PUBLIC KEY BLOCK-----\n',
      'keys/oops.asc': '-----BEGIN PGP PRIVATE KEY BLOCK-----\n',
    };
    const read: string[] = [];
    const probe = {
      fileExists: (p: string) => p in files,
      readHead: (p: string) => {
        read.push(p);
        return p in files ? new TextEncoder().encode(files[p]) : undefined;
      },
    };
    const policy = policyWith({ r: { local: { path: 'x' } } }, ['r']);
    policy.systems[0]!.encryption = {
      recipients: ['keys/ops.asc', '/etc/shadow', 'keys/oops.asc', 'keys/gone.asc'],
    };
    const facts = systemFacts(policy, 0, probe);
    expect(facts.values['encryption.recipientKeys']).toBe('private-key');
    expect(facts.at['encryption.recipientKeys']).toEqual(['systems', 0, 'encryption', 'recipients', 2]);
    expect(read).toEqual(['keys/ops.asc', 'keys/oops.asc', 'keys/gone.asc']);
  });
});
