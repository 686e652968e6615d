package repo

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cairn-storage/cairn/node/config"
)

func TestInitCreatesPrivateIdentity(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "r")
	r, err := Init(dir, config.Default())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{IdentityFile, TokenFile} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: mode %v, err %v; want 0600", f, fi.Mode().Perm(), err)
		}
	}
	if _, err := r.Identity(); err != nil {
		t.Fatal(err)
	}
	if tok, err := r.Token(); err != nil || len(tok) != 64 {
		t.Fatalf("token %q %v", tok, err)
	}
	if _, err := Init(dir, config.Default()); err == nil {
		t.Fatal("Init overwrote an existing repo")
	}
	if _, err := Open(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Fatal("Open of a missing repo succeeded")
	}
}

func TestLockIsExclusive(t *testing.T) {
	r, err := Init(filepath.Join(t.TempDir(), "r"), config.Default())
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := r.Lock()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Lock(); err == nil {
		t.Fatal("second lock succeeded")
	}
	unlock()
	if u, err := r.Lock(); err != nil {
		t.Fatal(err)
	} else {
		u()
	}
}

func TestDefaultPathHonoursEnv(t *testing.T) {
	t.Setenv(EnvPath, "/x/y")
	if DefaultPath() != "/x/y" {
		t.Fatal(DefaultPath())
	}
}
