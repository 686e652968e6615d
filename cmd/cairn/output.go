package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// output is where get writes: commit on success, abort on any failure.
type output interface {
	io.Writer
	commit() error
	abort()
}

// atomicFile writes to a temp file next to the target and renames it over the target only once
// complete, so an interrupted download never leaves a truncated file under the final name.
type atomicFile struct {
	*os.File
	final string
	mode  fs.FileMode
}

// createOutput opens path for writing. Regular (or not yet existing) files are written
// atomically; anything else, such as /dev/null or a FIFO, is written in place (a rename would
// replace the device node).
func createOutput(path string) (output, error) {
	st, err := os.Stat(path)
	switch {
	case err == nil && st.IsDir():
		return nil, fmt.Errorf("output %s is a directory; give a file name", path)
	case err == nil && !st.Mode().IsRegular():
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return nil, fmt.Errorf("open output: %w", err)
		}
		return inPlace{f}, nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("output %s: %w", path, err)
	}
	mode := fs.FileMode(0o644)
	if err == nil {
		mode = st.Mode().Perm() // replacing a file keeps its permissions
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".cairn-*.tmp")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("output directory %s does not exist", dir)
		}
		return nil, fmt.Errorf("create output: %w", err)
	}
	return &atomicFile{File: f, final: path, mode: mode}, nil
}

// commit makes the file durable under its final name.
func (a *atomicFile) commit() error {
	err := a.Chmod(a.mode)
	if err == nil {
		err = a.Sync()
	}
	if cerr := a.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(a.Name(), a.final)
	}
	if err != nil {
		os.Remove(a.Name())
		return fmt.Errorf("write %s: %w", a.final, err)
	}
	// The rename is durable only once the directory is synced; failing that is not worth an error.
	if d, err := os.Open(filepath.Dir(a.final)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

func (a *atomicFile) abort() {
	a.Close()
	os.Remove(a.Name())
}

// inPlace writes straight into a non-regular file.
type inPlace struct{ *os.File }

func (f inPlace) commit() error { return f.Close() }
func (f inPlace) abort()        { f.Close() }

// stream writes to stdout (-o -); a failure there cannot be undone, only reported.
type stream struct{ io.Writer }

func (stream) commit() error { return nil }
func (stream) abort()        {}
