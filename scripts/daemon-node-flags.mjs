// The Node flags `npm start` runs the castore daemon with, shared with the daemon bench so that it
// measures the daemon as `npm start` runs it. Plain JavaScript with no dependencies: scripts/dev.mjs
// imports it before anything is built.
//
// --max-semi-space-size=4 (MiB): a young generation of 8 MiB instead of the one V8 sizes from the
// machine's memory (128 MiB on the 24 GiB development machine). Every HTTP/2 DATA frame of an upload
// arrives in a buffer of its own, held outside the JavaScript heap by a small object in the young
// generation. A large young generation is scavenged so rarely that those buffers pile up until V8's
// limit on memory outside the heap forces a full mark-compact instead: 52 of them during a 1 GiB
// put into a fresh daemon, against 116 scavenges and one mark-compact with this flag. Measured on
// that machine: the daemon's CPU for the put fell from 4.9-7.0 s to 3.2-4.2 s; in the daemon bench
// (two runs each way) the put went from 0.16-0.19 GB/s to 0.20-0.21 and the daemon's peak RSS from
// 203-211 MiB to 151-155 (during a cat, 214-217 to 182-185); `castore cat` was no faster or slower.
// It has to be given at startup: V8 sizes the young generation when the process starts, and setting
// the flag at run time changed nothing.
export const DAEMON_NODE_FLAGS = ["--max-semi-space-size=4"];
