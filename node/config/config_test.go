package config

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
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

func TestDefaultsValidateAndQuotas(t *testing.T) {
	def := Default()
	if err := def.Validate(); err != nil {
		t.Fatal(err)
	}
	iv := def.Intervals
	if iv.OrphanLease.D() != time.Hour || iv.Reprovide.D() != 12*time.Hour || iv.PeerSave.D() != 5*time.Minute ||
		iv.DeleteRetry.D() != time.Minute || iv.Reconnect.D() != 30*time.Second {
		t.Fatalf("default intervals %+v", iv)
	}
	// Provider records expire after 48 h: the default must re-announce well before.
	if iv.Reprovide.D() >= 24*time.Hour {
		t.Fatalf("reprovide %s too close to the 48 h record expiry", iv.Reprovide.D())
	}
	for _, tc := range []struct {
		capacity             Size
		peer, subnet         int
		wantPeer, wantSubnet int64
	}{
		{100 << 30, 10, 25, 10 << 30, 25 << 30},
		{0, 10, 25, 0, 0}, // capacity 0 is unlimited, and so are the quotas
		{1, 10, 25, 1, 1}, // a tiny capacity never turns into "unlimited"
		{999, 100, 1, 999, 9},
		{1 << 62, 100, 50, 1 << 62, 1 << 61}, // no overflow
	} {
		s := Storage{Capacity: tc.capacity, PeerShare: tc.peer, SubnetShare: tc.subnet}
		if s.PeerQuota() != tc.wantPeer || s.SubnetQuota() != tc.wantSubnet {
			t.Errorf("capacity %d shares %d/%d: quotas %d/%d, want %d/%d", tc.capacity, tc.peer, tc.subnet,
				s.PeerQuota(), s.SubnetQuota(), tc.wantPeer, tc.wantSubnet)
		}
	}
}

func TestQuotaIsFloorOfShare(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := rapid.Int64Range(1, 1<<50).Draw(t, "capacity")
		pct := rapid.IntRange(1, 100).Draw(t, "pct")
		s := Storage{Capacity: Size(c), PeerShare: pct, SubnetShare: pct}
		want := max(c*int64(pct)/100, 1) // exact below 2^50 * 100
		if got := s.PeerQuota(); got != want || s.SubnetQuota() != want {
			t.Fatalf("capacity %d at %d%%: %d, want %d", c, pct, got, want)
		}
	})
}

func TestFastShortensEveryInterval(t *testing.T) {
	cfg := Default()
	Fast(&cfg)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	def := Default().Intervals
	fast := cfg.Intervals
	for i, f := range fast.fields() {
		d := f.d.D()
		if d > 20*time.Second || d >= def.fields()[i].d.D() {
			t.Errorf("fast %s = %s, want seconds and below the default %s", f.name, d, def.fields()[i].d.D())
		}
	}
	if fast.OrphanLease.D() != 10*time.Second || fast.Reprovide.D() != 20*time.Second || fast.PeerSave.D() != 2*time.Second ||
		fast.DeleteRetry.D() != 2*time.Second || fast.Reconnect.D() != 2*time.Second {
		t.Fatalf("fast intervals %+v", fast)
	}
	if cfg.Put != Default().Put || cfg.Storage != Default().Storage {
		t.Fatal("Fast changed more than intervals")
	}
}

func TestNewFieldsRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "config.toml")
	cfg := Default()
	Fast(&cfg)
	cfg.Intervals.Reprovide = Duration(90 * time.Minute)
	cfg.Storage.PeerShare, cfg.Storage.SubnetShare = 7, 60
	cfg.Network.Bootstrap = []string{"/ip4/127.0.2.1/tcp/4101/p2p/12D3KooWBAqTrZk7Z6mnAMqX1Cck1JjACgyt4nQx3rG2xYbbDvNj"}
	if err := Save(p, cfg); err != nil {
		t.Fatal(err)
	}
	got, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if got.Intervals != cfg.Intervals || got.Storage != cfg.Storage || !slices.Equal(got.Network.Bootstrap, cfg.Network.Bootstrap) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, cfg)
	}
	b, _ := os.ReadFile(p)
	for _, key := range []string{"[intervals]", "orphan_lease = '10s'", "reprovide = '1h30m0s'", "peer_share = 7", "subnet_share = 60"} {
		if !strings.Contains(string(b), key) {
			t.Errorf("saved config lacks %q:\n%s", key, b)
		}
	}
	// A partial [intervals] keeps the other defaults.
	os.WriteFile(p, []byte("[intervals]\nreconnect = \"5s\"\n"), 0o644)
	got, err = Load(p)
	if err != nil {
		t.Fatal(err)
	}
	want := Default().Intervals
	want.Reconnect = Duration(5 * time.Second)
	if got.Intervals != want {
		t.Fatalf("partial intervals %+v", got.Intervals)
	}
}

func TestLoadRejectsNewFields(t *testing.T) {
	cases := map[string]string{
		"zero interval":       "[intervals]\nreprovide = \"0s\"\n",
		"negative interval":   "[intervals]\nreconnect = \"-1s\"\n",
		"unknown interval":    "[intervals]\nrepublish = \"1h\"\n",
		"zero peer share":     "[storage]\npeer_share = 0\n",
		"peer share > 100":    "[storage]\npeer_share = 101\n",
		"subnet share > 100":  "[storage]\nsubnet_share = 200\n",
		"bootstrap sans /p2p": "[network]\nbootstrap = [\"/ip4/127.0.0.1/tcp/4101\"]\n",
		"bootstrap garbage":   "[network]\nbootstrap = [\"hello\"]\n",
	}
	for name, body := range cases {
		p := filepath.Join(t.TempDir(), "c.toml")
		os.WriteFile(p, []byte(body), 0o644)
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: err %v, want an error naming the file", name, err)
		}
	}
}

func TestAddBootstrapDedupsAndValidates(t *testing.T) {
	const id = "12D3KooWBAqTrZk7Z6mnAMqX1Cck1JjACgyt4nQx3rG2xYbbDvNj"
	a := "/ip4/127.0.2.1/tcp/4101/p2p/" + id
	var n Network
	if added, err := n.AddBootstrap(a, a, "/ip4/127.0.2.1/udp/4101/quic-v1/p2p/"+id); err != nil || added != 2 {
		t.Fatalf("added %d, %v", added, err)
	}
	if added, err := n.AddBootstrap("/ip4/127.0.2.1/tcp/4101/ipfs/" + id); err != nil || added != 0 {
		t.Fatalf("the /ipfs spelling of a known address was added again: %d, %v (%v)", added, err, n.Bootstrap)
	}
	before := slices.Clone(n.Bootstrap)
	if _, err := n.AddBootstrap("/ip4/127.0.3.1/tcp/1/p2p/"+id, "/ip4/127.0.0.1/tcp/1"); err == nil {
		t.Fatal("address without /p2p accepted")
	}
	if !slices.Equal(before, n.Bootstrap) {
		t.Fatalf("a failed add changed the list: %v", n.Bootstrap)
	}
}

func TestFreePortIsFreeForBoth(t *testing.T) {
	p, err := FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if !PortFree("127.0.0.1", p) {
		t.Fatalf("port %d reported free but is not", p)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if PortFree("127.0.0.1", p) {
		t.Fatalf("port %d reported free while listened on", p)
	}
	if _, err := FreePort("not an ip"); err == nil {
		t.Fatal("bad IP accepted")
	}
	if got := LoopbackListen(7, p); got[0] != "/ip4/127.0.7.1/tcp/"+strconv.Itoa(p) || got[1] != "/ip4/127.0.7.1/udp/"+strconv.Itoa(p)+"/quic-v1" {
		t.Fatalf("LoopbackListen: %v", got)
	}
}
