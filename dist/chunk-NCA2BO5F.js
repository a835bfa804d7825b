import { createRequire as __restorableCreateRequire } from 'node:module';
const require = __restorableCreateRequire(import.meta.url);
import {
  changesSinceBase,
  withChanges
} from "./chunk-R6C5WTM2.js";
import "./chunk-NJFFDDF7.js";
import "./chunk-64LPOJGB.js";
import "./chunk-Q4V2YTJC.js";
import "./chunk-FR2T7L4U.js";
import "./chunk-TKDTUBCU.js";
import "./chunk-UDREE6HQ.js";
export {
  changesSinceBase,
  withChanges
};
