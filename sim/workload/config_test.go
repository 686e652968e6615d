package workload

import (
	"math"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
)

func TestConfigValidate(t *testing.T) {
	good := []Config{
		DefaultConfig(),
		{UploadsPerHour: 10, DownloadsPerHour: 100, FileSize: SizeDist{Kind: Fixed, Mean: 1 << 20, Min: 1, Max: 1 << 30}},
		{UploadsPerHour: 1, FileSize: DefaultSizeDist(), Partners: []PartnerMix{{"debian", 2}, {"a.b_c-9", 0}}, UntaggedWeight: 0},
		{FileSize: SizeDist{Kind: Pareto, Shape: 1.2, Mean: 1 << 20, Min: 1, Max: 1 << 30}, DownloadSkew: 1},
		{FileSize: SizeDist{Kind: Exponential, Median: 1000, Min: 10, Max: 100000}},
		{FileSize: SizeDist{Kind: LogNormal, Mean: 30 << 20, Sigma: 1, Min: 1, Max: MaxSize}},
	}
	for _, c := range good {
		if err := c.Validate(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
	d := DefaultSizeDist()
	bad := []struct {
		c    Config
		want string
	}{
		{Config{UploadsPerHour: -1, FileSize: d}, "workload.uploads_per_hour"},
		{Config{UploadsPerHour: math.NaN(), FileSize: d}, "workload.uploads_per_hour"},
		{Config{DownloadsPerHour: math.Inf(1), FileSize: d}, "workload.downloads_per_hour"},
		{Config{}, "workload.file_size: kind missing"},
		{Config{FileSize: SizeDist{Kind: "weibull", Median: 1, Min: 1, Max: 2}}, `unknown kind "weibull"`},
		{Config{FileSize: SizeDist{Kind: LogNormal, Median: 1 << 20, Sigma: 1}}, "workload.file_size: min 0, max 0"},
		{Config{FileSize: SizeDist{Kind: LogNormal, Median: 1 << 20, Sigma: 1, Min: 5, Max: 4}}, "min 5, max 4"},
		{Config{FileSize: SizeDist{Kind: LogNormal, Median: 1 << 20, Sigma: 1, Min: 1, Max: MaxSize + 1}}, "max"},
		{Config{FileSize: SizeDist{Kind: LogNormal, Median: 1 << 20, Mean: 1 << 21, Sigma: 1, Min: 1, Max: 1 << 30}}, "exactly one of median and mean"},
		{Config{FileSize: SizeDist{Kind: LogNormal, Sigma: 1, Min: 1, Max: 1 << 30}}, "exactly one of median and mean"},
		{Config{FileSize: SizeDist{Kind: LogNormal, Median: -4, Sigma: 1, Min: 1, Max: 1 << 30}}, "positive"},
		{Config{FileSize: SizeDist{Kind: LogNormal, Median: 1 << 20, Min: 1, Max: 1 << 30}}, "lognormal sigma 0"},
		{Config{FileSize: SizeDist{Kind: LogNormal, Median: 1 << 20, Sigma: 1, Shape: 2, Min: 1, Max: 1 << 30}}, "takes sigma, not shape"},
		{Config{FileSize: SizeDist{Kind: Pareto, Median: 1 << 20, Shape: 1, Sigma: 1, Min: 1, Max: 1 << 30}}, "takes shape, not sigma"},
		{Config{FileSize: SizeDist{Kind: Pareto, Median: 1 << 20, Min: 1, Max: 1 << 30}}, "pareto shape 0"},
		{Config{FileSize: SizeDist{Kind: Pareto, Mean: 1 << 20, Shape: 0.9, Min: 1, Max: 1 << 30}}, "has no mean"},
		{Config{FileSize: SizeDist{Kind: Exponential, Mean: 1 << 20, Sigma: 1, Min: 1, Max: 1 << 30}}, "median or mean only"},
		{Config{FileSize: SizeDist{Kind: Fixed, Mean: 1 << 31, Min: 1, Max: 1 << 30}}, "outside [min 1, max 1073741824]"},
		{Config{FileSize: SizeDist{Kind: LogNormal, Median: 10, Sigma: 0.1, Min: 1 << 30, Max: 1 << 31}}, "nothing to draw"},
		{Config{FileSize: d, Partners: []PartnerMix{{"", 1}}}, "workload.partners[0].id: empty"},
		{Config{FileSize: d, Partners: []PartnerMix{{"a", 1}, {"Debian", 1}}}, "workload.partners[1].id"},
		{Config{FileSize: d, Partners: []PartnerMix{{"a", 1}, {"a", 1}}}, `workload.partners[1].id: "a" listed twice`},
		{Config{FileSize: d, Partners: []PartnerMix{{"a", -1}}}, "workload.partners[0].weight"},
		{Config{FileSize: d, Partners: []PartnerMix{{"a", math.Inf(1)}}}, "workload.partners[0].weight"},
		{Config{FileSize: d, Partners: []PartnerMix{{"a", 0}}}, "all weights are 0"},
		{Config{FileSize: d, UntaggedWeight: -1}, "workload.untagged_weight"},
		{Config{FileSize: d, DownloadSkew: -0.5}, "workload.download_skew"},
		{Config{FileSize: d, DownloadSkew: 11}, "workload.download_skew"},
	}
	for _, b := range bad {
		err := b.c.Validate()
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%+v: got %v, want %q", b.c, err, b.want)
		}
	}
}

// TestConfigTOML reads a [workload] section as a scenario would: decoded over the defaults with
// unknown keys refused, then filled and validated. A size table of another kind must not
// inherit the default's sigma: Fill applies defaults only to a table without a kind.
func TestConfigTOML(t *testing.T) {
	const doc = `
[workload]
uploads_per_hour = 120
downloads_per_hour = 600.5
file_size = { kind = "pareto", shape = 1.5, median = 2097152, max = 536870912 }
untagged_weight = 2
download_skew = 0.9
partners = [ { id = "debian", weight = 1.5 }, { id = "arch-linux", weight = 0.5 } ]
`
	var sc struct {
		Workload Config `toml:"workload"`
	}
	dec := toml.NewDecoder(strings.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sc); err != nil {
		t.Fatal(err)
	}
	c := sc.Workload
	c.Fill()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want := SizeDist{Kind: Pareto, Shape: 1.5, Median: 2 << 20, Min: DefaultMinSize, Max: 512 << 20}
	if c.FileSize != want || c.UploadsPerHour != 120 || c.DownloadsPerHour != 600.5 || c.DownloadSkew != 0.9 ||
		len(c.Partners) != 2 || c.Partners[1] != (PartnerMix{"arch-linux", 0.5}) || c.UntaggedWeight != 2 {
		t.Fatalf("decoded %+v", c)
	}
	if s := c.PartnerShare("debian"); s != 0.375 {
		t.Errorf("debian share %v, want 0.375", s)
	}
	// An empty section takes the default sizes.
	var empty Config
	empty.Fill()
	if empty.FileSize != DefaultSizeDist() || empty.Validate() != nil {
		t.Errorf("filled empty config %+v: %v", empty, empty.Validate())
	}
	// Round trip.
	b, err := toml.Marshal(sc)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Workload Config `toml:"workload"`
	}
	if err := toml.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	back.Workload.Fill()
	if back.Workload.FileSize != c.FileSize || back.Workload.Partners[0] != c.Partners[0] {
		t.Errorf("round trip:\n%s\ngave %+v", b, back.Workload)
	}
	dec = toml.NewDecoder(strings.NewReader("[workload]\nuploads_per_huor = 3\n"))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sc); err == nil {
		t.Error("a misspelt key decoded")
	}
}
