package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cairn-storage/cairn/node/config"
	"github.com/cairn-storage/cairn/node/repo"
)

func TestDaemonRemembersBootstrap(t *testing.T) {
	const id = "12D3KooWBAqTrZk7Z6mnAMqX1Cck1JjACgyt4nQx3rG2xYbbDvNj"
	a := "/ip4/203.0.113.7/tcp/4101/p2p/" + id
	b := "/ip4/203.0.113.8/udp/4101/quic-v1/p2p/" + id
	cfg := config.Default()
	cfg.Put.K, cfg.Put.N = 3, 9
	cfg.Storage.Capacity = 7 << 30
	cfg.Network.Bootstrap = []string{a}
	r, err := repo.Init(filepath.Join(t.TempDir(), "r"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(r.Path, repo.ConfigFile)
	before, _ := os.ReadFile(path)
	if err := rememberBootstrap(r, []string{a}); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Fatal("config rewritten though it already had the address")
	}

	if err := rememberBootstrap(r, []string{b, a, b}); err != nil {
		t.Fatal(err)
	}
	re, err := repo.Open(r.Path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(re.Config.Network.Bootstrap, []string{a, b}) {
		t.Fatalf("bootstrap %v, want [%s %s]", re.Config.Network.Bootstrap, a, b)
	}
	if re.Config.Put.K != 3 || re.Config.Put.N != 9 || re.Config.Storage.Capacity != 7<<30 {
		t.Fatalf("other fields changed: %+v", re.Config)
	}

	saved, _ := os.ReadFile(path)
	for _, bad := range []string{"/ip4/203.0.113.9/tcp/4101", "nonsense"} {
		if err := rememberBootstrap(re, []string{bad}); err == nil || !strings.Contains(err.Error(), "--bootstrap") {
			t.Fatalf("%q: err %v, want a --bootstrap error", bad, err)
		}
	}
	if now, _ := os.ReadFile(path); string(now) != string(saved) {
		t.Fatal("a refused --bootstrap changed the config")
	}
}
