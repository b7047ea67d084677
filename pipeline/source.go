package pipeline

import (
	"archive/zip"
	"bufio"
	"compress/bzip2"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Source is one logical input: a plain or compressed file on disk, or one
// entry of a zip archive read in place.
type Source struct {
	// Name identifies the input in messages, manifests and resume state:
	// the file path, or "archive.zip!entry/name.json" for a zip entry.
	Name string
	// Path is the file on disk (the archive for a zip entry).
	Path string
	// Entry is the zip entry name, or "" for a plain file.
	Entry string
	// Size is the number of bytes read from disk for this input: the file
	// size, or the compressed size of a zip entry. Progress totals use it.
	Size int64
	// ModUnix is the modification time (Unix seconds) of the file or entry;
	// resume uses Name+Size+ModUnix to recognise an unchanged input.
	ModUnix int64
	// Key identifies the input whatever its spelling on the command line:
	// the absolute path with symbolic links resolved (plus "!entry" for a
	// zip entry). ExpandSources keeps one source per Key.
	Key string
}

// ExpandOptions controls how ExpandSources turns command-line arguments
// into sources.
type ExpandOptions struct {
	// Match filters the files found by walking a directory and the entries
	// of a zip archive, by base name. Nil accepts everything. Files named
	// explicitly (or by a glob) are always accepted.
	Match func(base string) bool
	// ResolvedNames names every source by its Key (the absolute, resolved
	// path) instead of the path as given, so that names, manifests and
	// resume state do not depend on how a file was spelled.
	ResolvedNames bool
	// OnDuplicate, when set, is called for every input found again under
	// another spelling (or twice): name is the spelling dropped, first the
	// Name of the source kept. Each input is read once either way.
	OnDuplicate func(name, first string)
}

// resolvePath returns the absolute path of p with symbolic links
// resolved (or just absolute when they cannot be).
func resolvePath(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return filepath.Clean(p)
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		return r
	}
	return abs
}

// ExpandSources turns paths, directories and glob patterns into a sorted,
// de-duplicated list of sources. A directory is walked recursively (hidden
// files and folders, whose names start with ".", are skipped; symbolic
// links to files are followed); a ".zip"
// file contributes its matching entries (directories in the archive are
// skipped). A glob that matches nothing and a path that does not exist are
// errors. The same file reached twice (two spellings, a folder and a file
// in it, two links) is one source, identified by its resolved path (Key).
// The result is sorted by Name so that the order never depends on the
// order of the arguments or of the directory listing.
func ExpandSources(args []string, opts ExpandOptions) ([]Source, error) {
	match := opts.Match
	if match == nil {
		match = func(string) bool { return true }
	}
	seen := map[string]int{}
	var out []Source
	add := func(s Source) {
		if opts.ResolvedNames {
			s.Name = s.Key
		}
		if i, dup := seen[s.Key]; dup {
			if opts.OnDuplicate != nil {
				opts.OnDuplicate(s.Name, out[i].Name)
			}
			return
		}
		seen[s.Key] = len(out)
		out = append(out, s)
	}
	var addFile func(path string, explicit bool) error
	addFile = func(path string, explicit bool) error {
		fi, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("input %s: %w", path, err)
		}
		if fi.IsDir() {
			return filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return fmt.Errorf("input %s: %w", p, err)
				}
				base := d.Name()
				if p != path && strings.HasPrefix(base, ".") {
					if d.IsDir() {
						return filepath.SkipDir
					}
					return nil
				}
				if d.IsDir() {
					return nil
				}
				if !d.Type().IsRegular() {
					// Follow symbolic links to regular files (not to folders).
					fi, err := os.Stat(p)
					if err != nil || !fi.Mode().IsRegular() {
						return nil
					}
				}
				if strings.EqualFold(filepath.Ext(base), ".zip") || match(base) {
					return addFile(p, false)
				}
				return nil
			})
		}
		if strings.EqualFold(filepath.Ext(path), ".zip") {
			entries, err := zipEntries(path, match)
			if err != nil {
				return err
			}
			for _, e := range entries {
				add(e)
			}
			return nil
		}
		if !explicit && !match(filepath.Base(path)) {
			return nil
		}
		add(Source{Name: filepath.Clean(path), Path: filepath.Clean(path), Size: fi.Size(), ModUnix: fi.ModTime().Unix(), Key: resolvePath(path)})
		return nil
	}
	for _, arg := range args {
		if strings.ContainsAny(arg, "*?[") {
			if _, err := os.Stat(arg); err != nil {
				matches, gerr := filepath.Glob(arg)
				if gerr != nil {
					return nil, fmt.Errorf("input %s: bad pattern: %w", arg, gerr)
				}
				if len(matches) == 0 {
					return nil, fmt.Errorf("input %s: pattern matches no file", arg)
				}
				for _, m := range matches {
					if err := addFile(m, true); err != nil {
						return nil, err
					}
				}
				continue
			}
		}
		if err := addFile(arg, true); err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func zipEntries(path string, match func(string) bool) ([]Source, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", path, err)
	}
	defer zr.Close()
	var out []Source
	key := resolvePath(path)
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		base := filepath.Base(f.Name)
		if strings.HasPrefix(base, ".") || strings.HasPrefix(f.Name, "__MACOSX/") || !match(base) {
			continue
		}
		out = append(out, Source{
			Name:    filepath.Clean(path) + "!" + f.Name,
			Path:    filepath.Clean(path),
			Entry:   f.Name,
			Size:    int64(f.CompressedSize64),
			ModUnix: f.Modified.Unix(),
			Key:     key + "!" + f.Name,
		})
	}
	return out, nil
}

// Compression names the decompressor chosen from a file name's extension:
// ".gz", ".bz2", ".zst"/".zstd", or "" for none.
func Compression(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".gz", ".gzip":
		return "gzip"
	case ".bz2":
		return "bzip2"
	case ".zst", ".zstd":
		return "zstd"
	}
	return ""
}

// StripCompressionExt returns name without a compression extension
// (".gz", ".bz2", ".zst", ".zstd").
func StripCompressionExt(name string) string {
	if Compression(name) != "" {
		return strings.TrimSuffix(name, filepath.Ext(name))
	}
	return name
}

// Open returns the decompressed content of the source. When raw is not
// nil, every byte read from disk (before decompression) is added to it,
// which lets Progress show bytes against the sum of Source.Size.
func (s Source) Open(raw *atomic.Int64) (io.ReadCloser, error) {
	f, err := os.Open(s.Path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Name, err)
	}
	var base io.Reader = f
	closers := []io.Closer{f}
	name := s.Path
	if s.Entry != "" {
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", s.Name, err)
		}
		zr, err := zip.NewReader(f, fi.Size())
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", s.Name, err)
		}
		zr.RegisterDecompressor(zstd.ZipMethodWinZip, zstd.ZipDecompressor())
		var entry *zip.File
		for _, zf := range zr.File {
			if zf.Name == s.Entry {
				entry = zf
				break
			}
		}
		if entry == nil {
			f.Close()
			return nil, fmt.Errorf("%s: entry not found in archive", s.Name)
		}
		off, err := entry.DataOffset()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", s.Name, err)
		}
		// Count the compressed bytes of the entry as they are read.
		sr := io.NewSectionReader(f, off, int64(entry.CompressedSize64))
		var counted io.Reader = sr
		if raw != nil {
			counted = &countingReader{r: sr, n: raw}
		}
		rc, err := openZipEntry(entry, counted)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", s.Name, err)
		}
		closers = append([]io.Closer{rc}, closers...)
		base = rc
		name = s.Entry
	} else if raw != nil {
		base = &countingReader{r: f, n: raw}
	}
	r, c, err := decompress(base, name)
	if err != nil {
		for _, c := range closers {
			c.Close()
		}
		return nil, fmt.Errorf("%s: %w", s.Name, err)
	}
	if c != nil {
		closers = append([]io.Closer{c}, closers...)
	}
	return &multiCloser{Reader: r, closers: closers}, nil
}

// openZipEntry decompresses a zip entry from its raw (compressed) bytes.
func openZipEntry(f *zip.File, raw io.Reader) (io.ReadCloser, error) {
	switch f.Method {
	case zip.Store:
		return io.NopCloser(raw), nil
	case zip.Deflate:
		return zipDeflate(raw), nil
	case zstd.ZipMethodWinZip, zstd.ZipMethodPKWare:
		return zstd.ZipDecompressor()(raw), nil
	}
	return nil, fmt.Errorf("unsupported zip compression method %d", f.Method)
}

func decompress(r io.Reader, name string) (io.Reader, io.Closer, error) {
	switch Compression(name) {
	case "gzip":
		zr, err := gzip.NewReader(bufio.NewReaderSize(r, 1<<16))
		if err != nil {
			return nil, nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, zr, nil
	case "bzip2":
		return bzip2.NewReader(bufio.NewReaderSize(r, 1<<16)), nil, nil
	case "zstd":
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, nil, fmt.Errorf("zstd: %w", err)
		}
		return zr, closerFunc(func() error { zr.Close(); return nil }), nil
	}
	return r, nil, nil
}

type closerFunc func() error

// Close calls the function.
func (f closerFunc) Close() error { return f() }

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

// Read reads from the underlying reader and adds the bytes read to the counter.
func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

type multiCloser struct {
	io.Reader
	closers []io.Closer
}

// Close closes every closer in order and returns the first error.
func (m *multiCloser) Close() error {
	var errs []error
	for _, c := range m.closers {
		if err := c.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
