// Package pipeline holds the reusable streaming stages of every kprep
// command: input sources (files, directories, globs, compressed files and
// zip entries read in place), a streaming splitter for top-level JSON
// arrays, an ordered worker pool, Arrow IPC stream sinks and readers with
// Hugging Face metadata, atomic file output and progress reporting.
//
// Data flows one way: Source -> ArrayReader (raw element bytes) -> decoding
// and work (Ordered pool) -> ArrowSink / AtomicFile, with a Progress fed by
// byte and record counts. Every stage keeps memory bounded: nothing holds a
// whole input file or a whole dataset.
package pipeline
