import { createRequire as __restorableCreateRequire } from 'node:module';
const require = __restorableCreateRequire(import.meta.url);
import {
  evaluateFiles,
  fails,
  finishCheck,
  loadProfile,
  repositoryProbe,
  runCheck,
  setUpCheck
} from "./chunk-64LPOJGB.js";
import "./chunk-Q4V2YTJC.js";
import "./chunk-TKDTUBCU.js";
import "./chunk-UDREE6HQ.js";
export {
  evaluateFiles,
  fails,
  finishCheck,
  loadProfile,
  repositoryProbe,
  runCheck,
  setUpCheck
};
