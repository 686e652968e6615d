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

func TestPeerIDMatchesIdentity(t *testing.T) {
	r, err := Init(filepath.Join(t.TempDir(), "r"), config.Default())
	if err != nil {
		t.Fatal(err)
	}
	id, err := r.PeerID()
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := r.Identity()
	if !id.MatchesPrivateKey(priv) {
		t.Fatalf("peer ID %s does not match the identity key", id)
	}
	other, _ := Init(filepath.Join(t.TempDir(), "o"), config.Default())
	if oid, _ := other.PeerID(); oid == id {
		t.Fatal("two repos share a peer ID")
	}
}

func TestSaveConfigKeepsFieldsAndRefusesInvalid(t *testing.T) {
	r, err := Init(filepath.Join(t.TempDir(), "r"), config.Default())
	if err != nil {
		t.Fatal(err)
	}
	r.Config.Put.K, r.Config.Put.N = 3, 7
	config.Fast(&r.Config)
	if err := r.SaveConfig(); err != nil {
		t.Fatal(err)
	}
	re, err := Open(r.Path)
	if err != nil {
		t.Fatal(err)
	}
	if re.Config.Put.K != 3 || re.Config.Put.N != 7 || re.Config.Intervals != config.FastIntervals() {
		t.Fatalf("reopened config %+v", re.Config)
	}
	r.Config.Put.K = 9 // k > n
	if err := r.SaveConfig(); err == nil {
		t.Fatal("invalid config saved")
	}
	if re, _ := Open(r.Path); re.Config.Put.K != 3 {
		t.Fatal("a refused save changed the file")
	}
	if tmp, _ := filepath.Glob(filepath.Join(r.Path, "*.tmp*")); len(tmp) != 0 {
		t.Fatalf("temporary files left: %v", tmp)
	}
}

func TestPeersFile(t *testing.T) {
	r, err := Init(filepath.Join(t.TempDir(), "r"), config.Default())
	if err != nil {
		t.Fatal(err)
	}
	if b, err := r.ReadPeers(); err != nil || b != nil {
		t.Fatalf("fresh repo: %q, %v; want nothing and no error", b, err)
	}
	for _, body := range []string{`{"peers":[1]}`, `{"peers":[]}`} {
		if err := r.WritePeers([]byte(body)); err != nil {
			t.Fatal(err)
		}
		if b, err := r.ReadPeers(); err != nil || string(b) != body {
			t.Fatalf("read back %q, %v; want %q", b, err, body)
		}
	}
	if tmp, _ := filepath.Glob(filepath.Join(r.Path, "*.tmp*")); len(tmp) != 0 {
		t.Fatalf("temporary files left: %v", tmp)
	}
}
