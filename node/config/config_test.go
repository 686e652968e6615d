package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "config.toml")
	cfg := Default()
	cfg.Put.K, cfg.Put.N = 10, 30
	cfg.Storage.Capacity = 5 << 30
	if err := Save(p, cfg); err != nil {
		t.Fatal(err)
	}
	got, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if got.Put.K != 10 || got.Put.N != 30 || got.Storage.Capacity != 5<<30 || got.Put.ShardTimeout != Duration(2*time.Minute) {
		t.Fatalf("round trip: %+v", got)
	}
}

func TestPartialFileKeepsDefaults(t *testing.T) {
	p := filepath.Join(t.TempDir(), "config.toml")
	os.WriteFile(p, []byte("[storage]\ncapacity = \"1.5 GiB\"\n[put]\nsegment_size = 1048576\n"), 0o644)
	got, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if got.Storage.Capacity != 3<<29 || got.Put.SegmentSize != 1<<20 || got.Put.K != Default().Put.K || !got.Storage.Sync {
		t.Fatalf("partial config: %+v", got)
	}
}

func TestLoadRejects(t *testing.T) {
	cases := map[string]string{
		"unknown key":  "[put]\nkk = 3\n",
		"bad size":     "[storage]\ncapacity = \"lots\"\n",
		"bad k/n":      "[put]\nk = 8\nn = 4\n",
		"bad duration": "[put]\nshard_timeout = \"soon\"\n",
		"bad prefix":   "[network]\nprotocol_prefix = \"cairn\"\n",
		"tiny segment": "[put]\nsegment_size = \"1 KiB\"\n",
	}
	for name, body := range cases {
		p := filepath.Join(t.TempDir(), "c.toml")
		os.WriteFile(p, []byte(body), 0o644)
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: err %v, want an error naming the file", name, err)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]Size{"16 MiB": 16 << 20, "1GiB": 1 << 30, "4096": 4096, "2 KB": 2000} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1", "x MiB", "12 parsecs"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
}
