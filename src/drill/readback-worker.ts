import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import type { Key } from '../engine/crypto.ts';
import { checkFile, describe, type FileCheck, READ_BUFFER_BYTES, type ReadBackResult } from './integrity.ts';

// The read-back thread of a drill (see integrity.ts): reads batches of restored files and answers, per batch,
// how many files and bytes matched and which did not.

const { target, idKey } = workerData as { target: string; idKey: Key };
const buffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);

parentPort!.on('message', (files: FileCheck[]) => {
  const result: ReadBackResult = { files: 0, bytes: 0, problems: [] };
  for (const file of files) {
    try {
      result.bytes += checkFile(join(target, file.path), file, buffer, idKey);
      result.files++;
    } catch (error) {
      result.problems.push({ path: file.path, message: describe(error) });
    }
  }
  parentPort!.postMessage(result);
});
