package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAtomicOutputCommit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out")
	o, err := createOutput(path)
	if err != nil {
		t.Fatal(err)
	}
	o.Write([]byte("hello "))
	if _, err := os.Stat(path); err == nil {
		t.Fatal("target exists before commit")
	}
	o.Write([]byte("world"))
	if err := o.commit(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "hello world" {
		t.Fatalf("got %q", b)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
		t.Errorf("new file mode %v, want 0644", st.Mode().Perm())
	}
	assertOnlyFiles(t, dir, "out")
}

func TestAtomicOutputReplaceKeepsMode(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "out", []byte("old"))
	os.Chmod(path, 0o600)
	o, err := createOutput(path)
	if err != nil {
		t.Fatal(err)
	}
	o.Write([]byte("new"))
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Fatal("target changed before commit")
	}
	if err := o.commit(); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	if b, _ := os.ReadFile(path); string(b) != "new" || st.Mode().Perm() != 0o600 {
		t.Fatalf("got %q mode %v", b, st.Mode().Perm())
	}
}

func TestAtomicOutputAbort(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "out", []byte("old"))
	o, err := createOutput(path)
	if err != nil {
		t.Fatal(err)
	}
	o.Write([]byte("partial"))
	o.abort()
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Fatalf("target is %q after abort", b)
	}
	assertOnlyFiles(t, dir, "out")

	o, _ = createOutput(filepath.Join(dir, "fresh"))
	o.Write([]byte("partial"))
	o.abort()
	assertOnlyFiles(t, dir, "out")
}

func TestOutputErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := createOutput(dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("directory: %v", err)
	}
	if _, err := createOutput(filepath.Join(dir, "no", "such", "f")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing dir: %v", err)
	}
}

func TestOutputDeviceWrittenInPlace(t *testing.T) {
	o, err := createOutput(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := o.(inPlace); !ok {
		t.Fatalf("%s opened as %T; a rename would replace the device", os.DevNull, o)
	}
	o.Write([]byte("x"))
	if err := o.commit(); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(os.DevNull); err != nil || st.Mode().IsRegular() {
		t.Fatalf("%s damaged: %v %v", os.DevNull, st, err)
	}
}

func TestRelativeOutput(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	o, err := createOutput("rel")
	if err != nil {
		t.Fatal(err)
	}
	o.Write([]byte("x"))
	if err := o.commit(); err != nil {
		t.Fatal(err)
	}
	assertOnlyFiles(t, dir, "rel")
}
