// Package atomicfile writes files so that a reader never sees a half-written
// one: data goes to a temporary file in the destination folder, which is
// synced and renamed to its final name only when complete. Every kadapter
// output (datasets, models, ONNX graphs, checkpoints, .npy arrays) is written
// through it, so an interrupted run leaves either the old file or the new one.
package atomicfile

import (
	"bufio"
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

// File is a file written under a temporary name in the destination folder
// and renamed to its final name by Commit.
type File struct {
	*os.File
	path string
	done bool
}

// Create creates a temporary file beside path (creating the folder if
// needed). Write to it, then call Commit to publish it as path, or Abort to
// remove it. Defer Abort right after Create: it is a no-op after Commit.
func Create(path string) (*File, error) {
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
	return &File{File: f, path: path}, nil
}

// Path returns the final path the file will have after Commit.
func (f *File) Path() string { return f.path }

// SetPath changes the final path that Commit publishes the file as (used
// when the name depends on how many files a rotation produced). The new path
// must be in the same folder as the temporary file.
func (f *File) SetPath(path string) { f.path = path }

// Commit flushes the file to disk, closes it and renames it to its final
// path (replacing any previous file there).
func (f *File) Commit() error {
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
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.File.Close()
	os.Remove(f.Name())
}

// WriteFile writes data to path through a temporary file and a rename.
func WriteFile(path string, data []byte) error {
	return Write(path, func(w *bufio.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Write publishes at path what fill writes to a buffered writer. If fill
// fails, nothing is published and fill's error is returned unchanged (so
// callers keep their own error types); I/O errors name the path.
func Write(path string, fill func(w *bufio.Writer) error) error {
	f, err := Create(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer f.Abort()
	w := bufio.NewWriterSize(f, 1<<20)
	if err := fill(w); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
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
