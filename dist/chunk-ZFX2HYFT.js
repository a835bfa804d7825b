import { createRequire as __restorableCreateRequire } from 'node:module';
const require = __restorableCreateRequire(import.meta.url);

// src/storage/backend.ts
var NotFoundError = class extends Error {
  object;
  constructor(location, object) {
    super(`${location}: object ${object} does not exist`);
    this.name = "NotFoundError";
    this.object = object;
  }
};
var StorageError = class extends Error {
  object;
  constructor(location, object, what, options) {
    super(`${location}: ${what} ${object}`, options);
    this.name = "StorageError";
    this.object = object;
  }
};
var NAME = /^(?:config|(?:keys|index|snapshots|locks)\/[0-9a-f]{64}|data\/[0-9a-f]{2}\/[0-9a-f]{64})$/;
function checkName(name) {
  if (!NAME.test(name)) throw new RangeError(`not a repository object name: ${JSON.stringify(name)}`);
}

export {
  NotFoundError,
  StorageError,
  checkName
};
