package pipeline

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// TempMarker is part of the name of every temporary file this package
// creates (".NAME.tmp-XXXX" beside the final NAME); RemoveTemps deletes
// leftovers with it after a killed run.
const TempMarker = ".tmp-"

// AtomicFile is a file written under a temporary name in the destination
// folder and renamed to its final name by Commit, so that a reader never
// sees a half-written file, whatever happens to the process.
type AtomicFile struct {
	*os.File
	path string
	done bool
}

// CreateAtomic creates a temporary file beside path (creating the folder
// if needed). Write to it, then call Commit to publish it as path, or
// Abort to remove it. Defer Abort right after CreateAtomic: it is a no-op
// after Commit.
func CreateAtomic(path string) (*AtomicFile, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var r [6]byte
	_, _ = rand.Read(r[:])
	tmp := filepath.Join(dir, "."+base+TempMarker+hex.EncodeToString(r[:]))
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	return &AtomicFile{File: f, path: path}, nil
}

// Path returns the final path the file will have after Commit.
func (f *AtomicFile) Path() string { return f.path }

// Commit flushes the file to disk, closes it and renames it to its final
// path (replacing any previous file there).
func (f *AtomicFile) Commit() error {
	if f.done {
		return fmt.Errorf("%s: already committed or aborted", f.path)
	}
	f.done = true
	tmp := f.Name()
	if err := f.Sync(); err != nil {
		f.File.Close()
		os.Remove(tmp)
		return fmt.Errorf("%s: %w", f.path, err)
	}
	if err := f.File.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("%s: %w", f.path, err)
	}
	if err := os.Rename(tmp, f.path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("%s: %w", f.path, err)
	}
	return nil
}

// Abort closes and removes the temporary file. It does nothing after
// Commit or a previous Abort.
func (f *AtomicFile) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.File.Close()
	os.Remove(f.Name())
}

// WriteFileAtomic writes data to path through a temporary file and a
// rename.
func WriteFileAtomic(path string, data []byte) error {
	f, err := CreateAtomic(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Commit()
}

// RemoveTemps deletes the temporary files that a killed run left in dir
// (not recursive). It returns how many it removed.
func RemoveTemps(dir string) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return 0, nil
		}
		return 0, err
	}
	n := 0
	for _, e := range entries {
		if !e.IsDir() && strings.HasPrefix(e.Name(), ".") && strings.Contains(e.Name(), TempMarker) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}
