import type { ConformanceCase } from "../capabilities.js";
import { abortCases } from "./abort.js";
import { absentCases } from "./absent.js";
import { chunkCases } from "./chunks.js";
import { concurrencyCases } from "./concurrency.js";
import { integrityCases } from "./integrity.js";
import { lifecycleCases } from "./lifecycle.js";
import { raceCases } from "./races.js";
import { readerCases } from "./reader.js";
import { roundTripCases } from "./roundtrip.js";
import { writerCases } from "./writer.js";

/** Every conformance case, in the order they are reported. */
export const conformanceCases: readonly ConformanceCase[] = [
  ...absentCases,
  ...roundTripCases,
  ...readerCases,
  ...writerCases,
  ...abortCases,
  ...concurrencyCases,
  ...integrityCases,
  ...chunkCases,
  ...lifecycleCases,
  ...raceCases,
];

export {
  abortCases,
  absentCases,
  chunkCases,
  concurrencyCases,
  integrityCases,
  lifecycleCases,
  raceCases,
  readerCases,
  roundTripCases,
  writerCases,
};
