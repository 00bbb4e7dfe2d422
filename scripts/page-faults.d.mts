// Types of page-faults.mjs, for the TypeScript tests that import it.

/** Whether this Node runs on glibc, the allocator the priming tunes. */
export declare const onGlibc: boolean;

/** Minor page faults of the burst pattern in a fresh Node process, after `setup` (module code) run in `cwd`. */
export declare function pageFaultsOfBursts(setup: string, cwd: string): number;

/** The pages the bursts touch. */
export declare const BURST_PAGES: number;
