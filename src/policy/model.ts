/** The policy as the schema admits it (schemas/policy.schema.json). */

export type Classification = 'public' | 'internal' | 'confidential' | 'restricted';

export interface PolicyData {
  apiVersion: 'restorable/v1';
  kind: 'BackupPolicy';
  metadata: {
    name: string;
    description?: string;
    owner?: string;
    classification?: Classification;
    runbook?: string;
    labels?: Record<string, string>;
  };
  repositories?: Record<string, RepositoryData>;
  systems: SystemData[];
}

export interface RepositoryData {
  s3?: {
    bucket: string;
    region?: string;
    prefix?: string;
    endpoint?: string;
    forcePathStyle?: boolean;
    checksums?: 'when-supported' | 'when-required';
    storageClass?: string;
    objectLock?: { mode: 'governance' | 'compliance'; days?: number; years?: number };
  };
  local?: { path: string };
}

export interface SystemData {
  name: string;
  description?: string;
  owner?: string;
  classification?: Classification;
  runbook?: string;
  source: {
    command?: string[];
    timeout?: string;
    filename?: string;
    paths?: string[];
    exclude?: string[];
    followSymlinks?: boolean;
  };
  schedule?: string;
  rpo?: string;
  rto?: string;
  retention?: {
    keep?: Partial<Record<'last' | 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly', number>> & {
      within?: string;
    };
    minimum?: string;
    maximum?: string;
    timezone?: string;
  };
  encryption?: {
    cipher?: 'aes-256-gcm';
    recipients?: string[];
    passphrase?: string | { env: string };
  };
  repositories: string[];
  drill?: {
    schedule?: string;
    repository?: string;
    select?: { algorithm: 'latest' | 'random-within'; window?: string };
    timeout?: string;
    verify?: {
      name?: string;
      command: string[];
      timeout?: string;
      expectExitCode?: number;
      always?: boolean;
    }[];
  };
}
