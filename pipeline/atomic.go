package pipeline

import "github.com/kadapter/kadapter/internal/atomicfile"

// TempMarker is part of the name of every temporary file an AtomicFile
// uses (".NAME.tmp-XXXX" beside the final NAME); RemoveTemps deletes
// leftovers with it after a killed run.
const TempMarker = atomicfile.TempMarker

// AtomicFile is a file written under a temporary name in the destination
// folder and renamed to its final name by Commit, so that a reader never
// sees a half-written file, whatever happens to the process. It is the
// project-wide implementation in internal/atomicfile.
type AtomicFile = atomicfile.File

// CreateAtomic creates a temporary file beside path (creating the folder
// if needed). Write to it, then call Commit to publish it as path, or
// Abort to remove it. Defer Abort right after CreateAtomic: it is a no-op
// after Commit.
func CreateAtomic(path string) (*AtomicFile, error) { return atomicfile.Create(path) }

// WriteFileAtomic writes data to path through a temporary file and a
// rename.
func WriteFileAtomic(path string, data []byte) error { return atomicfile.WriteFile(path, data) }

// RemoveTemps deletes the temporary files that a killed run left in dir
// (not recursive). It returns how many it removed.
func RemoveTemps(dir string) (int, error) { return atomicfile.RemoveTemps(dir) }
